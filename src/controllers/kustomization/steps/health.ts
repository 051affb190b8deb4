import { TransientError } from '../../../runtime/errors.ts';
import { durationOr, formatDuration } from '../../../runtime/duration.ts';
import type { KubeObject } from '../../../runtime/client/objects.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { Cond, Reason, type InventoryEntry, type KustomizationDeps, type KustomizationObject, type KustomizationState } from '../types.ts';

function entryOf(ref: { apiVersion?: string; kind: string; name: string; namespace?: string }, defaultNs: string): InventoryEntry {
  const [group, version] = ref.apiVersion?.includes('/') ? ref.apiVersion.split('/') : ['', ref.apiVersion ?? 'v1'];
  return { id: `${ref.namespace ?? defaultNs}_${ref.name}_${group ?? ''}_${ref.kind}`, v: version ?? 'v1' };
}

export const HEALTH_CHECK_CANCELED = 'HealthCheckCanceled';

/** `wait: true` checks every applied object; `healthChecks` checks the listed ones. */
export function healthStep(deps: KustomizationDeps): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'health',
    async run(ctx) {
      const spec = ctx.obj.spec;
      if (!ctx.state.tenant || !ctx.state.artifact) return;
      const ns = ctx.obj.metadata.namespace ?? 'default';
      const entries: InventoryEntry[] = spec.wait ? ctx.state.inventory : (spec.healthChecks ?? []).map((h) => entryOf(h as never, ns));
      if (!entries.length) {
        ctx.clear(Cond.Healthy);
        return;
      }
      const started = performance.now();
      const timeoutMs = durationOr(spec.timeout, durationOr(spec.interval, 5 * 60_000));
      const revision = ctx.state.artifact.revision;
      const res = await deps.applier.health(ctx.state.tenant.client, entries, timeoutMs, {
        signal: ctx.signal,
        ...(ctx.state.healthChecks ? { statusOf: (o: KubeObject) => ctx.state.healthChecks?.statusOf(o) } : {}),
        onPending: () => ctx.progress(`Running health checks for revision ${revision} with a timeout of ${formatDuration(timeoutMs)}`, [Cond.Healthy]),
      });
      if (res.canceled) {
        // deleted or changed while we waited: the queue runs it again at once
        throw new TransientError(HEALTH_CHECK_CANCELED, 'health check canceled: the Kustomization changed or is being deleted');
      }
      if (!res.healthy) {
        ctx.condition(Cond.Healthy, 'False', Reason.HealthCheckFailed, res.message);
        throw new TransientError(Reason.HealthCheckFailed, res.message);
      }
      ctx.condition(Cond.Healthy, 'True', Reason.Succeeded, `Health check passed in ${((performance.now() - started) / 1000).toFixed(1)}s`);
    },
  };
}
