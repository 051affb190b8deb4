import { durationOr } from '../../runtime/duration.ts';
import type { ReconcilerDefinition } from '../../runtime/reconcile/types.ts';
import { artifactSourceParts } from '../../services/artifacts/source-definition.ts';
import { checkoutStep } from './steps/checkout.ts';
import { credentialsStep } from './steps/credentials.ts';
import { includeStep, type LookupGitRepository } from './steps/include.ts';
import { resolveStep } from './steps/resolve.ts';
import { storeStep } from './steps/store.ts';
import { verifyStep } from './steps/verify.ts';
import { API_VERSION, KIND, type GitRepositoryDeps, type GitRepositoryObject, type GitRepositoryState } from './types.ts';

/** credentials → resolve (ls-remote) → checkout (only on change) → include → verify → store. */
export function gitRepositoryReconciler(deps: GitRepositoryDeps, lookup: LookupGitRepository): ReconcilerDefinition<GitRepositoryObject, GitRepositoryState> {
  return {
    ...artifactSourceParts<GitRepositoryObject, GitRepositoryState>(deps.store, KIND),
    apiVersion: API_VERSION,
    kind: KIND,
    newState: () => ({ auth: { type: 'none' }, proxy: undefined, upToDate: false, included: [] }),
    steps: [credentialsStep(deps), resolveStep(deps), checkoutStep(deps), includeStep(deps, lookup), verifyStep(deps), storeStep(deps)],
    readyMessage: (ctx) => `stored artifact for revision '${ctx.state.resolved?.revision ?? ''}'`,
    intervalMs: (obj) => durationOr(obj.spec.interval, 60_000),
  };
}
