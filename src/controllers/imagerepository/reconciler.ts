import { durationOr } from '../../runtime/duration.ts';
import type { ReconcilerDefinition } from '../../runtime/reconcile/types.ts';
import { scanStep } from './steps/scan.ts';
import { API_VERSION, KIND, type ImageRepositoryDeps, type ImageRepositoryObject, type ImageRepositoryState } from './types.ts';

export function imageRepositoryReconciler(deps: ImageRepositoryDeps): ReconcilerDefinition<ImageRepositoryObject, ImageRepositoryState> {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    controllerName: 'image-reflector-controller',
    finalizer: true,
    newState: () => ({}),
    steps: [scanStep(deps)],
    async finalize(obj) {
      deps.tags.delete(obj.metadata.namespace ?? 'default', obj.metadata.name);
    },
    readyMessage: (ctx) => `successful scan: found ${ctx.state.found ?? 0} tags with checksum ${ctx.state.checksum ?? ''}`,
    intervalMs: (obj) => durationOr(obj.spec.interval, 10 * 60_000),
  };
}
