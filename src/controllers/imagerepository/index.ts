import type { Controller } from '../../runtime/manager.ts';
import { requeueOnSecretChange } from '../../services/secrets/watch.ts';
import { imageRepositoryReconciler } from './reconciler.ts';
import type { ImageRepositoryDeps, ImageRepositoryObject, ImageRepositoryState } from './types.ts';

/** The ImageRepository controller: scans registries for tags; fixed credentials requeue at once. */
export function imageRepositoryController(deps: ImageRepositoryDeps): Controller<ImageRepositoryObject, ImageRepositoryState> {
  return {
    name: 'imagerepository',
    definition: imageRepositoryReconciler(deps),
    setup(setup) {
      requeueOnSecretChange(setup, (o) => [o.spec.secretRef?.name, o.spec.certSecretRef?.name]);
    },
  };
}
