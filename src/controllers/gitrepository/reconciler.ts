import { rm } from 'node:fs/promises';
import { durationOr } from '../../runtime/duration.ts';
import type { ReconcilerDefinition } from '../../runtime/reconcile/types.ts';
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
    apiVersion: API_VERSION,
    kind: KIND,
    controllerName: 'source-controller',
    finalizer: true,
    newState: () => ({ auth: { type: 'none' }, proxy: undefined, upToDate: false, included: [] }),
    steps: [credentialsStep(deps), resolveStep(deps), checkoutStep(deps), includeStep(deps, lookup), verifyStep(deps), storeStep(deps)],
    async cleanup(state) {
      if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
    },
    async finalize(obj) {
      await deps.store.remove(KIND, obj.metadata.namespace ?? 'default', obj.metadata.name);
    },
    readyMessage: (ctx) => `stored artifact for revision '${ctx.state.resolved?.revision ?? ''}'`,
    intervalMs: (obj) => durationOr(obj.spec.interval, 60_000),
    resourceInfo: (obj, status) => ({
      url: obj.spec.url,
      revision: (status['artifact'] as { revision?: string } | undefined)?.revision ?? '',
    }),
  };
}
