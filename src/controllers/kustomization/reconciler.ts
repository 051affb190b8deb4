import { rm } from 'node:fs/promises';
import { durationOr, formatDuration, parseDuration } from '../../runtime/duration.ts';
import { READY, findCondition } from '../../runtime/reconcile/conditions.ts';
import type { ReconcilerDefinition, Step } from '../../runtime/reconcile/types.ts';
import type { ClientFactory } from '../../services/tenancy/clients.ts';
import { applyStep, ownerLabels, pruneStep } from './steps/apply.ts';
import { upsertHistory, type Snapshot } from './history.ts';
import { buildStep } from './steps/build.ts';
import { dependenciesStep } from './steps/dependencies.ts';
import { HEALTH_CHECK_CANCELED, healthStep } from './steps/health.ts';
import { sourceStep } from './steps/source.ts';
import { validateStep } from './steps/validate.ts';
import {
  ALLOW_EMPTY_ANNOTATION,
  API_VERSION,
  KIND,
  Reason,
  type InventoryEntry,
  type KustomizationDeps,
  type KustomizationObject,
  type KustomizationState,
  type Lookup,
  type SourceObject,
} from './types.ts';

/** Events for a successful run: the change set when something changed, and recovery. */
function reportStep(): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'report',
    async run(ctx) {
      const revision = ctx.state.artifact?.revision;
      const opts = revision ? { revision } : {};
      if (ctx.state.changeSet.length) ctx.event('Normal', Reason.Progressing, ctx.state.changeSet.join('\n'), opts);
      const wasReady = findCondition(ctx.obj.status?.conditions, READY)?.status === 'True';
      if (ctx.state.changed || !wasReady) {
        const next = formatDuration(durationOr(ctx.obj.spec.interval, 600_000));
        const took = ((performance.now() - ctx.state.startedAt) / 1000).toFixed(1);
        ctx.event('Normal', Reason.ReconciliationSucceeded, `Reconciliation finished in ${took}s, next run in ${next}`, opts);
      }
    },
  };
}

export function kustomizationReconciler(
  deps: KustomizationDeps,
  clients: ClientFactory,
  lookups: { kustomization: Lookup<KustomizationObject>; source: Lookup<SourceObject> },
): ReconcilerDefinition<KustomizationObject, KustomizationState> {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    controllerName: 'kustomize-controller',
    finalizer: true,
    newState: () => ({ objects: [], inventory: [], changeSet: [], changed: false, startedAt: performance.now() }),
    steps: [
      validateStep(),
      dependenciesStep(clients, lookups.kustomization, lookups.source, { additive: deps.additiveCelDependencyCheck === true }),
      sourceStep(clients, lookups.source),
      buildStep(deps),
      applyStep(deps, clients),
      pruneStep(deps, ALLOW_EMPTY_ANNOTATION),
      healthStep(deps),
      reportStep(),
    ],
    finish(ctx, failure) {
      // Flux records every reconcile that got as far as a build; a health wait that was
      // canceled (the object changed or is being deleted) is not an outcome
      if (!ctx.state.buildDigest || failure?.reason === HEALTH_CHECK_CANCELED) return;
      const status = !failure
        ? Reason.ReconciliationSucceeded
        : failure.reason === Reason.PruneFailed || failure.reason === Reason.HealthCheckFailed
          ? failure.reason
          : Reason.ReconciliationFailed;
      ctx.status['history'] = upsertHistory(ctx.status['history'] as Snapshot[] | undefined, {
        digest: ctx.state.buildDigest,
        at: new Date(),
        durationMs: performance.now() - ctx.state.startedAt,
        status,
        metadata: ctx.state.artifact ? { revision: ctx.state.artifact.revision } : {},
      });
    },
    async cleanup(state) {
      state.tenant?.close();
      if (state.workDir) await rm(state.workDir, { recursive: true, force: true });
    },
    async finalize(obj, log) {
      // deletionPolicy: MirrorPrune (default) follows spec.prune; Delete always; Orphan never
      const policy = obj.spec.deletionPolicy ?? 'MirrorPrune';
      const del = policy === 'Delete' || policy === 'WaitForTermination' || (policy === 'MirrorPrune' && obj.spec.prune);
      const entries = ((obj.status?.['inventory'] as { entries?: InventoryEntry[] } | undefined)?.entries) ?? [];
      if (!del || !entries.length || obj.spec.suspend) return;
      // A tenant being offboarded may lose its service account before its Kustomization:
      // as Flux does, skip the garbage collection rather than retry a forbidden delete forever.
      const sa = obj.spec.serviceAccountName ?? deps.defaultServiceAccount;
      const ns = obj.metadata.namespace ?? 'default';
      if (sa && !obj.spec.kubeConfig && !(await deps.client.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: ns, name: sa }))) {
        log.warn({ serviceAccount: `${ns}/${sa}` }, 'service account not found: skipping garbage collection of the deleted Kustomization');
        return;
      }
      const tenant = await clients.forTarget(
        { namespace: obj.metadata.namespace ?? 'default', serviceAccountName: obj.spec.serviceAccountName, kubeConfig: obj.spec.kubeConfig as never },
        Reason.ReconciliationFailed,
      );
      try {
        const lines = await deps.applier.prune(tenant.client, entries, ownerLabels(obj));
        log.info({ deleted: lines.length }, 'garbage collected the inventory of a deleted Kustomization');
      } finally {
        tenant.close();
      }
    },
    readyMessage: (ctx) => `Applied revision: ${ctx.state.artifact?.revision ?? ''}`,
    intervalMs: (obj) => durationOr(obj.spec.interval, 600_000),
    retryIntervalMs: (obj) => parseDuration(obj.spec.retryInterval) ?? durationOr(obj.spec.interval, 600_000),
    resourceInfo: (obj, status) => ({
      source_name: `${obj.spec.sourceRef.kind}/${obj.spec.sourceRef.namespace ?? obj.metadata.namespace}/${obj.spec.sourceRef.name}`,
      revision: String(status['lastAppliedRevision'] ?? ''),
    }),
  };
}
