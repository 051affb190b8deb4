import { rm } from 'node:fs/promises';
import type { FluxObject, FluxStatus } from '../../runtime/reconcile/types.ts';
import type { ArtifactStore } from './store.ts';

/**
 * What every kind that produces artifacts does alike (Flux's source-controller): a
 * finalizer that removes the object's artifacts, the per-reconcile work dir removed
 * afterwards, and `url`/`revision` on `gotk_resource_info`.
 */
export function artifactSourceParts<O extends FluxObject & { spec: { url: string } }, S extends { workDir?: string }>(store: ArtifactStore, kind: string) {
  return {
    controllerName: 'source-controller',
    finalizer: true,
    async cleanup(state: S): Promise<void> {
      if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
    },
    async finalize(obj: O): Promise<void> {
      await store.remove(kind, obj.metadata.namespace ?? 'default', obj.metadata.name);
    },
    resourceInfo: (obj: O, status: FluxStatus): Record<string, string> => ({
      url: obj.spec.url,
      revision: (status['artifact'] as { revision?: string } | undefined)?.revision ?? '',
    }),
  };
}
