import { durationOr } from '../../runtime/duration.ts';
import type { ReconcilerDefinition } from '../../runtime/reconcile/types.ts';
import { chooseStep } from './steps/choose.ts';
import { API_VERSION, KIND, type ImagePolicyDeps, type ImagePolicyObject, type ImagePolicyState, type RepositoryView } from './types.ts';

export function imagePolicyReconciler(deps: ImagePolicyDeps, repository: (ns: string, name: string) => RepositoryView | undefined): ReconcilerDefinition<ImagePolicyObject, ImagePolicyState> {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    controllerName: 'image-reflector-controller',
    finalizer: false,
    newState: () => ({}),
    steps: [chooseStep(deps, repository)],
    readyMessage: (ctx) => {
      const l = ctx.state.latest;
      const p = ctx.state.previous;
      const base = `Latest image tag for ${l?.name ?? ''} resolved to ${l?.tag ?? ''}`;
      return p && l && (p.name !== l.name || p.tag !== l.tag) ? `${base} (previously ${p.name}:${p.tag})` : base;
    },
    // re-evaluated when its repository's scan changes; the interval is only a safety net
    intervalMs: (obj) => durationOr(obj.spec.interval, 10 * 60_000),
  };
}
