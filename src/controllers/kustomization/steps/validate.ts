import { specRuleViolations } from '../../../api/index.ts';
import { StallingError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { CustomHealthChecks, InvalidCelExpression, compileReadyExpr } from '../../../services/cel/index.ts';
import { Reason, type KustomizationObject, type KustomizationState } from '../types.ts';

/** Flux's words for a spec that cannot work until it is edited. */
export const TERMINAL_ERROR_MESSAGE = 'Reconciliation failed terminally due to configuration error';

/**
 * Rules the API server of Kubernetes 1.20 cannot check itself (Flux expresses them in
 * CEL), and the spec's own CEL expressions, checked once here rather than on every poll.
 */
export function validateStep(): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'validate',
    async run(ctx) {
      const { spec } = ctx.obj;
      const problems = specRuleViolations(ctx.obj as never);
      if (problems.length) throw new StallingError(Reason.InvalidSpec, `invalid spec: ${problems.join('; ')}`);
      try {
        if (spec.healthCheckExprs?.length) ctx.state.healthChecks = new CustomHealthChecks(spec.healthCheckExprs);
        (spec.dependsOn ?? []).forEach((d, i) => d.readyExpr && compileReadyExpr(d.readyExpr, `dependsOn[${i}].readyExpr`));
      } catch (e) {
        if (!(e instanceof InvalidCelExpression)) throw e;
        throw new StallingError(Reason.InvalidCELExpression, `${TERMINAL_ERROR_MESSAGE}: ${e.message}`);
      }
    },
  };
}
