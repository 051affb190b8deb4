import { objectKey } from '../../runtime/client/objects.ts';
import type { Controller } from '../../runtime/manager.ts';
import { ociRepositoryReconciler } from './reconciler.ts';
import type { OCIRepositoryDeps, OCIRepositoryObject, OCIRepositoryState } from './types.ts';

const SECRET_INDEX = 'secretRef';

/**
 * The OCIRepository controller. It watches Secrets (trigger-only, nothing cached) so that
 * fixing registry credentials or TLS material requeues at once.
 */
export function ociRepositoryController(deps: OCIRepositoryDeps): Controller<OCIRepositoryObject, OCIRepositoryState> {
  return {
    name: 'ocirepository',
    definition: ociRepositoryReconciler(deps),
    setup({ primary, informer, enqueue }) {
      primary.addIndex(SECRET_INDEX, (o) => {
        const ns = o.metadata.namespace ?? 'default';
        return [o.spec.secretRef?.name, o.spec.certSecretRef?.name].filter((n): n is string => !!n).map((n) => `${ns}/${n}`);
      });
      const secrets = informer({ apiVersion: 'v1', kind: 'Secret', metadataOnly: true, store: false });
      const onSecret = (s: { metadata: { name: string; namespace?: string } }): void => {
        for (const o of primary.byIndex(SECRET_INDEX, objectKey(s))) enqueue(objectKey(o));
      };
      secrets.on('add', onSecret).on('update', onSecret).on('delete', onSecret);
    },
  };
}
