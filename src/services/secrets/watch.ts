import { objectKey, type KubeObject } from '../../runtime/client/objects.ts';
import type { ControllerSetup } from '../../runtime/manager.ts';
import type { FluxObject } from '../../runtime/reconcile/types.ts';

const SECRET_INDEX = 'referencedSecrets';

/**
 * Requeues an object the moment a Secret it names (by `names`, in its own namespace) is
 * created, changed or deleted, so fixed credentials take effect at once. The Secret
 * informer is trigger-only and metadata-only: no Secret is cached.
 */
export function requeueOnSecretChange<O extends FluxObject>(setup: ControllerSetup<O>, names: (o: O) => ReadonlyArray<string | undefined>): void {
  const { primary, informer, enqueue } = setup;
  primary.addIndex(SECRET_INDEX, (o) => {
    const ns = o.metadata.namespace ?? 'default';
    return names(o)
      .filter((n): n is string => !!n)
      .map((n) => `${ns}/${n}`);
  });
  const onSecret = (s: KubeObject): void => {
    for (const o of primary.byIndex(SECRET_INDEX, objectKey(s))) enqueue(objectKey(o));
  };
  informer({ apiVersion: 'v1', kind: 'Secret', metadataOnly: true, store: false }).on('add', onSecret).on('update', onSecret).on('delete', onSecret);
}
