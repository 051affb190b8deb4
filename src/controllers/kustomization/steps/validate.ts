import { specRuleViolations } from '../../../api/index.ts';
import { StallingError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { Reason, type KustomizationObject, type KustomizationState } from '../types.ts';

/** Rules the API server of Kubernetes 1.20 cannot check itself (Flux expresses them in CEL). */
export function validateStep(): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'validate',
    async run(ctx) {
      const problems = specRuleViolations(ctx.obj as never);
      if (problems.length) throw new StallingError(Reason.InvalidSpec, `invalid spec: ${problems.join('; ')}`);
    },
  };
}
