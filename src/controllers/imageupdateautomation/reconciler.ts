import { rm } from 'node:fs/promises';
import { durationOr } from '../../runtime/duration.ts';
import type { ReconcilerDefinition } from '../../runtime/reconcile/types.ts';
import { updateStep } from './steps/update.ts';
import { API_VERSION, KIND, type ImageUpdateAutomationDeps, type ImageUpdateAutomationObject, type ImageUpdateAutomationState, type Lookups } from './types.ts';

export function imageUpdateAutomationReconciler(deps: ImageUpdateAutomationDeps, lookups: Lookups): ReconcilerDefinition<ImageUpdateAutomationObject, ImageUpdateAutomationState> {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    controllerName: 'image-automation-controller',
    finalizer: false,
    newState: () => ({}),
    steps: [updateStep(deps, lookups)],
    async cleanup(state) {
      if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
    },
    readyMessage: (ctx) => (ctx.state.pushed ? `pushed commit '${ctx.state.pushed.commit}' to branch '${ctx.state.pushed.branch}'` : 'repository up-to-date'),
    intervalMs: (obj) => durationOr(obj.spec.interval, 10 * 60_000),
  };
}
