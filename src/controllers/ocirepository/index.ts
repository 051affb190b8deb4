import type { Controller } from '../../runtime/manager.ts';
import { requeueOnSecretChange } from '../../services/secrets/watch.ts';
import { ociRepositoryReconciler } from './reconciler.ts';
import type { OCIRepositoryDeps, OCIRepositoryObject, OCIRepositoryState } from './types.ts';

/** The OCIRepository controller: fixing registry credentials or TLS material requeues at once. */
export function ociRepositoryController(deps: OCIRepositoryDeps): Controller<OCIRepositoryObject, OCIRepositoryState> {
  return {
    name: 'ocirepository',
    definition: ociRepositoryReconciler(deps),
    setup(setup) {
      requeueOnSecretChange(setup, (o) => [o.spec.secretRef?.name, o.spec.certSecretRef?.name]);
    },
  };
}
