import type { Step } from '../../../runtime/reconcile/types.ts';
import { isReconcileError, StallingError, TransientError } from '../../../runtime/errors.ts';
import type { ClientFactory } from '../../../services/tenancy/clients.ts';
import { NAME_LABEL, NAMESPACE_LABEL, Reason, type KustomizationDeps, type KustomizationObject, type KustomizationState } from '../types.ts';

export function ownerLabels(obj: KustomizationObject): Record<string, string> {
  return { [NAME_LABEL]: obj.metadata.name, [NAMESPACE_LABEL]: obj.metadata.namespace ?? 'default' };
}

/** Server-side apply, in stages, as the tenant's identity; records the new inventory. */
export function applyStep(deps: KustomizationDeps, clients: ClientFactory): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'apply',
    async run(ctx) {
      if (!ctx.state.artifact) return;
      const spec = ctx.obj.spec;
      ctx.state.tenant = await clients.forTarget(
        { namespace: ctx.obj.metadata.namespace ?? 'default', serviceAccountName: spec.serviceAccountName, kubeConfig: spec.kubeConfig as never },
        Reason.ReconciliationFailed,
      );
      try {
        const out = await deps.applier.apply(ctx.state.tenant.client, ctx.state.objects, {
          force: spec.force === true,
          ownerLabels: ownerLabels(ctx.obj),
          identity: ctx.state.tenant.identity,
        });
        ctx.state.inventory = out.entries;
        ctx.state.changeSet.push(...out.changeSet);
        ctx.state.changed = out.changed;
      } catch (e) {
        if (isReconcileError(e)) throw e;
        throw new TransientError(Reason.ReconciliationFailed, e instanceof Error ? e.message : String(e), { cause: e });
      }
      ctx.status['lastAppliedRevision'] = ctx.state.artifact.revision;
    },
  };
}

/**
 * Prune runs only after everything before it succeeded (a failed step ends the chain), and
 * refuses an empty build that would delete a non-empty inventory unless opted in.
 */
export function pruneStep(deps: KustomizationDeps, allowEmptyAnnotation: string): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'prune',
    async run(ctx) {
      if (!ctx.state.artifact || !ctx.state.tenant) return;
      const before = ((ctx.status['inventory'] as { entries?: Array<{ id: string; v: string }> } | undefined)?.entries) ?? [];
      const after = ctx.state.inventory;
      if (after.length === 0 && before.length > 0 && ctx.obj.spec.prune && ctx.obj.metadata.annotations?.[allowEmptyAnnotation] !== 'enabled') {
        throw new StallingError(
          Reason.BuildFailed,
          `the build of revision '${ctx.state.artifact.revision}' produced no objects while ${before.length} are applied; refusing to prune them all. ` +
            `If this is intended, annotate the Kustomization with ${allowEmptyAnnotation}=enabled`,
        );
      }
      ctx.status['inventory'] = { entries: after };
      if (!ctx.obj.spec.prune) return;
      const stale = deps.applier.stale(before, after);
      if (!stale.length) return;
      try {
        const lines = await deps.applier.prune(ctx.state.tenant.client, stale, ownerLabels(ctx.obj));
        ctx.state.changeSet.push(...lines);
        if (lines.length) ctx.state.changed = true;
      } catch (e) {
        // keep the stale entries so a later prune retries them
        ctx.status['inventory'] = { entries: [...after, ...stale] };
        throw new TransientError('PruneFailed', `prune failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    },
  };
}
