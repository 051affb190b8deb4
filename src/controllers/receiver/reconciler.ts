import { durationOr } from '../../runtime/duration.ts';
import type { ReconcilerDefinition } from '../../runtime/reconcile/types.ts';
import { pathStep } from './steps/path.ts';
import { API_VERSION, KIND, type ReceiverDeps, type ReceiverObject, type ReceiverState } from './types.ts';

export function receiverReconciler(deps: ReceiverDeps): ReconcilerDefinition<ReceiverObject, ReceiverState> {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    controllerName: 'notification-controller',
    finalizer: false,
    newState: () => ({}),
    steps: [pathStep(deps)],
    readyMessage: (ctx) => `Receiver initialized for path: ${ctx.state.webhookPath ?? ''}`,
    intervalMs: (obj) => durationOr(obj.spec.interval, 10 * 60_000),
  };
}
