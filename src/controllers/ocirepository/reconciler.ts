import { durationOr } from '../../runtime/duration.ts';
import type { ReconcilerDefinition } from '../../runtime/reconcile/types.ts';
import { artifactSourceParts } from '../../services/artifacts/source-definition.ts';
import { connectStep } from './steps/connect.ts';
import { pullStep } from './steps/pull.ts';
import { resolveStep } from './steps/resolve.ts';
import { API_VERSION, KIND, type OCIRepositoryDeps, type OCIRepositoryObject, type OCIRepositoryState } from './types.ts';

/** connect (spec, credentials) → resolve (tags, HEAD) → pull (only on change) and store. */
export function ociRepositoryReconciler(deps: OCIRepositoryDeps): ReconcilerDefinition<OCIRepositoryObject, OCIRepositoryState> {
  return {
    ...artifactSourceParts<OCIRepositoryObject, OCIRepositoryState>(deps.store, KIND),
    apiVersion: API_VERSION,
    kind: KIND,
    newState: () => ({ upToDate: false }),
    steps: [connectStep(deps), resolveStep(deps.store), pullStep(deps)],
    readyMessage: (ctx) => `stored artifact for digest '${ctx.state.revision ?? ''}'`,
    intervalMs: (obj) => durationOr(obj.spec.interval, 60_000),
  };
}
