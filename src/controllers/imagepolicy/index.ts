import { objectKey } from '../../runtime/client/objects.ts';
import type { Informer } from '../../runtime/cache/informer.ts';
import type { Controller } from '../../runtime/manager.ts';
import { imagePolicyReconciler } from './reconciler.ts';
import type { ImagePolicyDeps, ImagePolicyObject, ImagePolicyState, RepositoryView } from './types.ts';

const REPO_INDEX = 'imageRepositoryRef';

/** The ImagePolicy controller: re-chooses the moment its ImageRepository's tags change. */
export function imagePolicyController(deps: ImagePolicyDeps): Controller<ImagePolicyObject, ImagePolicyState> {
  let repos: Informer<RepositoryView> | undefined;
  return {
    name: 'imagepolicy',
    definition: imagePolicyReconciler(deps, (ns, name) => repos?.get(`${ns}/${name}`)),
    setup({ primary, informer, enqueue }) {
      primary.addIndex(REPO_INDEX, (o) => [`${o.spec.imageRepositoryRef.namespace ?? o.metadata.namespace ?? 'default'}/${o.spec.imageRepositoryRef.name}`]);
      repos = informer<RepositoryView>({ apiVersion: 'image.toolkit.fluxcd.io/v1', kind: 'ImageRepository', namespace: primary.options.namespace });
      const revision = (r: RepositoryView | undefined) => (r?.status?.['lastScanResult'] as { revision?: string } | undefined)?.revision;
      const onRepo = (r: RepositoryView, old?: RepositoryView): void => {
        if (old && revision(old) === revision(r)) return;
        for (const p of primary.byIndex(REPO_INDEX, objectKey(r))) enqueue(objectKey(p));
      };
      repos.on('add', (r) => onRepo(r)).on('update', onRepo).on('delete', (r) => onRepo(r));
    },
  };
}
