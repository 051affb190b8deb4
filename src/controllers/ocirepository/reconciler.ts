import { rm } from 'node:fs/promises';
import { durationOr } from '../../runtime/duration.ts';
import type { ReconcilerDefinition } from '../../runtime/reconcile/types.ts';
import { connectStep } from './steps/connect.ts';
import { pullStep } from './steps/pull.ts';
import { resolveStep } from './steps/resolve.ts';
import { API_VERSION, KIND, type OCIRepositoryDeps, type OCIRepositoryObject, type OCIRepositoryState } from './types.ts';

/** connect (spec, credentials) → resolve (tags, HEAD) → pull (only on change) and store. */
export function ociRepositoryReconciler(deps: OCIRepositoryDeps): ReconcilerDefinition<OCIRepositoryObject, OCIRepositoryState> {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    controllerName: 'source-controller',
    finalizer: true,
    newState: () => ({ upToDate: false }),
    steps: [connectStep(deps), resolveStep(deps.store), pullStep(deps)],
    async cleanup(state) {
      if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
    },
    async finalize(obj) {
      await deps.store.remove(KIND, obj.metadata.namespace ?? 'default', obj.metadata.name);
    },
    readyMessage: (ctx) => `stored artifact for digest '${ctx.state.revision ?? ''}'`,
    intervalMs: (obj) => durationOr(obj.spec.interval, 60_000),
    resourceInfo: (obj, status) => ({
      url: obj.spec.url,
      revision: (status['artifact'] as { revision?: string } | undefined)?.revision ?? '',
    }),
  };
}
