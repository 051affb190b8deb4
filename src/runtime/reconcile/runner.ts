import { isApiError, isNotFound } from '../client/errors.ts';
import { refOf } from '../client/objects.ts';
import { classify, TransientError, type ReconcileError } from '../errors.ts';
import { READY, RECONCILING, Reasons, STALLED, findCondition, removeCondition, setCondition, sortConditions, type Condition, type ConditionStatus } from './conditions.ts';
import {
  FINALIZER,
  REQUESTED_AT_ANNOTATION,
  type FluxObject,
  type FluxStatus,
  type PendingEvent,
  type ReconcileDeps,
  type ReconcileOutcome,
  type ReconcilerDefinition,
  type StepContext,
} from './types.ts';

/**
 * Runs one reconcile of one object: deletion and finalizers, suspend, the step chain,
 * then one summary (Ready / Reconciling / Stalled derived from the outcome), one status
 * patch (skipped when nothing changed), events, metrics, and the requeue decision.
 * Transient errors are rethrown so the work queue backs off.
 */
export async function reconcileObject<O extends FluxObject, S>(
  deps: ReconcileDeps,
  def: ReconcilerDefinition<O, S>,
  obj: O,
  signal: AbortSignal = new AbortController().signal,
): Promise<ReconcileOutcome> {
  const { kind } = def;
  const ns = obj.metadata.namespace ?? '';
  const name = obj.metadata.name;
  const log = deps.log.child({ controllerKind: kind, name, namespace: ns });
  const now = deps.now ?? (() => new Date());
  const started = performance.now();

  if (obj.metadata.deletionTimestamp) {
    if (obj.metadata.finalizers?.includes(FINALIZER)) {
      if (def.finalize) await def.finalize(obj, log);
      await removeFinalizer(deps, obj);
    }
    deps.metrics?.conditions(kind, ns, name, obj.status?.conditions ?? [], true);
    deps.metrics?.forget(kind, ns, name);
    return {};
  }

  const suspended = obj.spec?.suspend === true;
  deps.metrics?.suspend(kind, ns, name, suspended);
  if (suspended) {
    log.info('reconciliation is suspended for this object');
    return {};
  }

  if (def.finalizer && !obj.metadata.finalizers?.includes(FINALIZER)) {
    await deps.client.patch(refOf(obj), { metadata: { finalizers: [...(obj.metadata.finalizers ?? []), FINALIZER] } }, { type: 'merge', fieldManager: def.controllerName });
  }

  const generation = obj.metadata.generation;
  const status: FluxStatus & { conditions: Condition[] } = {
    ...structuredClone(obj.status ?? {}),
    conditions: structuredClone(obj.status?.conditions ?? []),
  };
  const events: PendingEvent[] = [];
  // what the server has: the final patch is computed against it
  let written: FluxStatus | undefined = obj.status;
  const ctx: StepContext<O, S> = {
    obj,
    status,
    state: def.newState(obj),
    log,
    signal,
    condition: (type, st, reason, message) =>
      setCondition(status.conditions, { type, status: st, reason, message, observedGeneration: generation }, now()),
    clear: (type) => removeCondition(status.conditions, type),
    event: (type, reason, message, opts = {}) => events.push({ type, reason, message, opts }),
    progress: async (message, unknown = []) => {
      const at = now();
      const set = (type: string, st: ConditionStatus, msg: string) =>
        setCondition(status.conditions, { type, status: st, reason: Reasons.Progressing, message: msg, observedGeneration: generation }, at);
      set(RECONCILING, 'True', message);
      set(READY, 'Unknown', 'Reconciliation in progress');
      for (const type of unknown) set(type, 'Unknown', message);
      status.conditions = sortConditions(status.conditions);
      try {
        await writeStatus(deps, def, { ...obj, status: written }, status);
        written = structuredClone(status);
      } catch (e) {
        log.warn({ err: e instanceof Error ? e.message : String(e) }, 'could not report progress');
      }
    },
  };

  let failure: ReconcileError | undefined;
  let requeueAfterMs: number | undefined;
  try {
  for (const step of def.steps) {
    try {
      const r = await step.run(ctx);
      if (r?.requeueAfterMs !== undefined) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, r.requeueAfterMs);
      if (r?.stop) break;
    } catch (e) {
      failure = classify(e, Reasons.ReconciliationFailed, `${step.name} failed`);
      if (!(failure instanceof TransientError) || failure.cause === undefined) {
        log.info({ step: step.name, reason: failure.reason }, failure.message);
      } else {
        log.error({ step: step.name, reason: failure.reason, err: failure.message }, 'reconciliation failed');
      }
      break;
    }
  }
  } finally {
    await def.cleanup?.(ctx.state).catch((e: unknown) => log.warn({ err: String(e) }, 'cleanup failed'));
  }

  summarize(def, ctx, failure, generation, now());
  def.finish?.(ctx, failure);
  const requestedAt = obj.metadata.annotations?.[REQUESTED_AT_ANNOTATION];
  if (requestedAt) status.lastHandledReconcileAt = requestedAt;
  status.conditions = sortConditions(status.conditions);

  await writeStatus(deps, def, { ...obj, status: written }, status);

  const ready = findCondition(status.conditions, READY);
  const revision = eventRevision(status);
  if (failure) {
    events.push({
      type: failure.kind === 'waiting' ? 'Normal' : 'Warning',
      reason: failure.reason,
      message: failure.message,
      opts: revision ? { revision } : {},
    });
  }
  for (const e of events) await deps.recordEvent(obj, e.type, e.reason, e.message, e.opts);

  deps.metrics?.observe(kind, ns, name, (performance.now() - started) / 1000);
  deps.metrics?.conditions(kind, ns, name, status.conditions);
  deps.metrics?.info(kind, ns, name, {
    ready: ready?.status ?? 'Unknown',
    reason: ready?.reason ?? '',
    suspended: String(suspended),
    ...(def.resourceInfo?.(obj, status) ?? {}),
  });

  if (!failure) return { requeueAfterMs: Math.min(requeueAfterMs ?? Infinity, def.intervalMs(obj)) };
  switch (failure.kind) {
    case 'stalling':
      return {};
    case 'waiting':
      return { requeueAfterMs: (failure as { retryAfterMs?: number }).retryAfterMs ?? def.dependencyRequeueMs ?? 30_000 };
    case 'transient': {
      const retry = def.retryIntervalMs?.(obj);
      if (retry !== undefined) return { requeueAfterMs: retry };
      throw failure;
    }
  }
}

function summarize<O extends FluxObject, S>(
  def: ReconcilerDefinition<O, S>,
  ctx: StepContext<O, S>,
  failure: ReconcileError | undefined,
  generation: number | undefined,
  at: Date,
): void {
  const conds = ctx.status.conditions;
  const set = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string): void =>
    setCondition(conds, { type, status, reason, message, observedGeneration: generation }, at);
  if (!failure) {
    set(READY, 'True', Reasons.Succeeded, def.readyMessage(ctx));
    removeCondition(conds, RECONCILING);
    removeCondition(conds, STALLED);
    if (generation !== undefined) ctx.status.observedGeneration = generation;
    return;
  }
  set(READY, 'False', failure.reason, failure.message);
  switch (failure.kind) {
    case 'stalling':
      set(STALLED, 'True', failure.reason, failure.message);
      removeCondition(conds, RECONCILING);
      if (generation !== undefined) ctx.status.observedGeneration = generation;
      break;
    case 'waiting':
      removeCondition(conds, STALLED);
      set(RECONCILING, 'True', Reasons.Progressing, failure.message);
      break;
    case 'transient':
      removeCondition(conds, STALLED);
      set(RECONCILING, 'True', Reasons.ProgressingWithRetry, failure.message);
      if (generation !== undefined) ctx.status.observedGeneration = generation;
      break;
  }
}

function eventRevision(status: FluxStatus): string | undefined {
  const artifact = status['artifact'] as { revision?: string } | undefined;
  return artifact?.revision ?? (status['lastAttemptedRevision'] as string | undefined) ?? undefined;
}

/** A merge patch of the whole status, with `null` for fields the reconcile removed; skipped when equal. */
export function statusPatch(before: FluxStatus | undefined, after: FluxStatus): FluxStatus | undefined {
  const patch: Record<string, unknown> = {};
  let changed = false;
  for (const [k, v] of Object.entries(after)) {
    if (v === undefined) continue;
    if (JSON.stringify(before?.[k]) !== JSON.stringify(v)) {
      patch[k] = v;
      changed = true;
    }
  }
  for (const k of Object.keys(before ?? {})) {
    if (!(k in after) || after[k] === undefined) {
      patch[k] = null;
      changed = true;
    }
  }
  return changed ? (patch as FluxStatus) : undefined;
}

async function writeStatus<O extends FluxObject, S>(deps: ReconcileDeps, def: ReconcilerDefinition<O, S>, obj: O, status: FluxStatus): Promise<void> {
  const patch = statusPatch(obj.status, status);
  if (!patch) return;
  try {
    await deps.client.patchStatus(refOf(obj), patch, def.controllerName);
  } catch (e) {
    if (isNotFound(e)) return; // deleted while we worked
    throw new TransientError('StatusPatchFailed', `could not update status: ${isApiError(e) ? e.message : String(e)}`, { cause: e });
  }
}

async function removeFinalizer(deps: ReconcileDeps, obj: FluxObject): Promise<void> {
  // read the live object: the cached one may lag behind a status write made moments ago
  const live = await deps.client.get(refOf(obj));
  if (!live || !live.metadata.finalizers?.includes(FINALIZER)) return;
  const finalizers = live.metadata.finalizers.filter((f) => f !== FINALIZER);
  try {
    await deps.client.patch(refOf(obj), { metadata: { finalizers: finalizers.length ? finalizers : null, resourceVersion: live.metadata.resourceVersion } }, { type: 'merge' });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  deps.log.debug({ kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace }, 'finalizer removed');
}
