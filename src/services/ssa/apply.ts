/**
 * Staged server-side apply, as Flux's kustomize-controller does it (fluxcd/pkg ssa
 * ApplyAllStaged), with one addition for speed: objects whose desired state and live
 * resourceVersion are both unchanged since the last apply are not sent at all.
 *
 * Per object: normalise, add the owner labels, honour the `ssa`/`reconcile`/`force`
 * annotations, take over fields kubectl wrote, then either compare a dry-run with the live
 * object and apply only on drift (Flux's way), or apply directly and read the action from
 * the resourceVersion (a no-op apply does not write). Stage 1 (CRDs, Namespaces,
 * ClusterRoles) and stage 2 (`*Class` kinds) are waited for before the rest.
 */
import type { KubeClient } from '../../runtime/client/client.ts';
import { isApiError } from '../../runtime/client/errors.ts';
import { describeRef, type KubeObject, type ObjectRef } from '../../runtime/client/objects.ts';
import { canonicalJson, desiredHash, type AppliedCache } from './applied-cache.ts';
import { changeSetEntry, changeSetLines, hasChanged, inventoryOf, type Action, type ChangeSetEntry } from './changeset.ts';
import { mapLimit, sleep } from './concurrency.ts';
import { ApplyError, immutableFields, manifestFailure, objectFailure, type ObjectFailure, type Operation } from './errors.ts';
import { checkHealth } from './health.ts';
import { idOf, type InventoryEntry } from './inventory.ts';
import { listingMetadataSource, type LiveMetadataSource, type LiveState } from './live.ts';
import { cleanupPatch, fluxCleanup, type CleanupOptions } from './managed-fields.ts';
import { anyInMetadata, normalizeForApply } from './normalize.ts';
import { compareForApply, STAGES, stageOf, type Stage } from './order.ts';

/**
 * `dryRun`: Flux's check (live object, dry-run apply, compare, apply on drift; a stage the
 * server refuses any object of is not applied at all). `apply`: apply at once, one request
 * per object, and tell configured from unchanged by resourceVersion and generation.
 */
export type DriftCheck = 'dryRun' | 'apply';

export interface ApplyAllOptions {
  /** `kustomize-controller` (or `helm-controller`): the names Flux uses, so ownership moves cleanly. */
  fieldManager: string;
  /** Added to every object, e.g. `kustomize.toolkit.fluxcd.io/name` and `/namespace`. */
  ownerLabels: Record<string, string>;
  /** Recreate objects whose update changes an immutable field (Kustomization `spec.force`). */
  force?: boolean;
  /** Requests in flight within a stage (Flux's `--concurrent-ssa`, default 4). */
  concurrency?: number;
  /** Wait for stage 1 and 2 objects to be Current before the next stage (default: 60 s, polled). */
  waitForEstablished?: boolean | { timeoutMs?: number; pollMs?: number };
  /** Remembers applies; objects unchanged since then cost no request. One cache per applier and target cluster. */
  cache?: AppliedCache;
  /** How objects the cache cannot vouch for are checked (default `dryRun`, Flux's behaviour). */
  driftCheck?: DriftCheck;
  /** Prefix of the per-object annotations `<group>/ssa`, `/reconcile`, `/force` (default `kustomize.toolkit.fluxcd.io`). */
  annotationGroup?: string;
  /** Fields of other managers taken over before applying (default: Flux's list); `false` to keep them. */
  cleanup?: CleanupOptions | false;
  /** Where live metadata comes from (default: metadata-only lists per kind and namespace). */
  liveSource?: LiveMetadataSource;
  /** How long to wait for an object deleted for recreation to disappear. */
  recreateTimeoutMs?: number;
}

export interface ApplyStats {
  /** Objects answered from the cache without a request. */
  cacheHits: number;
  /** Metadata lookups: lists and single GETs. */
  lists: number;
  metadataGets: number;
  /** Full GETs (drift comparison, recreation, stage waits). */
  gets: number;
  dryRuns: number;
  applies: number;
  /** JSON patches that took over kubectl's fields. */
  cleanups: number;
  deletes: number;
}

export interface ApplyResult {
  /** One entry per object, in apply order (stage, then kind order). */
  changeSet: ChangeSetEntry[];
  /** The new inventory, skipped objects included (as Flux records it). */
  inventory: InventoryEntry[];
  /** Change-set lines of the objects that changed, e.g. `Deployment/default/web configured`. */
  lines: string[];
  /** Something was created, configured or recreated. */
  changed: boolean;
  stats: ApplyStats;
}

interface Item {
  desired: KubeObject;
  ref: ObjectRef;
  id: string;
  hash: string;
  live?: KubeObject;
  /** The whole live object, when a list fetched it for the dry-run comparison. */
  full?: KubeObject;
  action?: Action;
  /** In `dryRun` mode: drifted, waiting for the apply phase. */
  needsApply?: boolean;
  /** In `dryRun` mode: an immutable field changed and force allows deleting the old object. */
  needsRecreate?: boolean;
}

const DEFAULT_GROUP = 'kustomize.toolkit.fluxcd.io';

function emptyStats(): ApplyStats {
  return { cacheHits: 0, lists: 0, metadataGets: 0, gets: 0, dryRuns: 0, applies: 0, cleanups: 0, deletes: 0 };
}

/** Total requests behind a set of stats (what a no-op reconcile should keep near zero). */
export function requestCount(s: ApplyStats): number {
  return s.lists + s.metadataGets + s.gets + s.dryRuns + s.applies + s.cleanups + s.deletes;
}

function rvOf(o: KubeObject | undefined): string {
  return o?.metadata.resourceVersion ?? '';
}

/**
 * Flux's drift test: labels, annotations, or anything outside metadata and status differ.
 * The resourceVersions may differ (a controller wrote status in between); the caller
 * remembers the live object's version, so a change it did not see is checked next time.
 */
export function hasDrifted(live: KubeObject, dryRun: KubeObject): boolean {
  if (canonicalJson(live.metadata.labels ?? {}) !== canonicalJson(dryRun.metadata.labels ?? {})) return true;
  if (canonicalJson(live.metadata.annotations ?? {}) !== canonicalJson(dryRun.metadata.annotations ?? {})) return true;
  const strip = (o: KubeObject): Record<string, unknown> => {
    const { metadata: _m, status: _s, ...rest } = o;
    return rest;
  };
  return canonicalJson(strip(live)) !== canonicalJson(strip(dryRun));
}

/**
 * Whether an apply changed the object, from its metadata before and after. A no-op apply
 * keeps the resourceVersion; where the kind tracks `generation`, a status write by its
 * controller between our lookup and our apply moves the version but not the generation.
 */
export function wasConfigured(before: KubeObject, after: KubeObject): boolean {
  if (rvOf(before) === rvOf(after)) return false;
  if (typeof before.metadata.generation !== 'number') return true;
  return (
    before.metadata.generation !== after.metadata.generation ||
    canonicalJson(before.metadata.labels ?? {}) !== canonicalJson(after.metadata.labels ?? {}) ||
    canonicalJson(before.metadata.annotations ?? {}) !== canonicalJson(after.metadata.annotations ?? {})
  );
}

class StageRun {
  readonly failures: ObjectFailure[] = [];

  constructor(
    private readonly client: KubeClient,
    private readonly opts: ApplyAllOptions,
    private readonly stats: ApplyStats,
  ) {}

  private get group(): string {
    return this.opts.annotationGroup ?? DEFAULT_GROUP;
  }

  private selector(name: string, value: string): Record<string, string> {
    return { [`${this.group}/${name}`]: value };
  }

  excluded(o: KubeObject | undefined): boolean {
    return anyInMetadata(o, this.selector('reconcile', 'disabled')) || anyInMetadata(o, this.selector('ssa', 'Ignore'));
  }

  private forceAllowed(item: Item): boolean {
    return this.opts.force === true || anyInMetadata(item.desired, this.selector('force', 'enabled')) || anyInMetadata(item.live, this.selector('force', 'enabled'));
  }

  private fail(item: Item, op: Operation, e: unknown): void {
    this.failures.push(objectFailure(item.ref, op, e));
    this.opts.cache?.delete(item.id);
  }

  private applyRequest(item: Item, dryRun: boolean): Promise<KubeObject> {
    if (dryRun) this.stats.dryRuns++;
    else this.stats.applies++;
    return this.client.apply(item.desired, { fieldManager: this.opts.fieldManager, force: true, dryRun });
  }

  /** Hands kubectl's fields to our manager (unless `ssa: Merge`); true when the live object was patched. */
  private async cleanup(item: Item): Promise<boolean> {
    const cleanup = this.opts.cleanup === undefined ? fluxCleanup(this.opts.fieldManager) : this.opts.cleanup;
    if (!cleanup || !item.live) return false;
    const merge = this.selector('ssa', 'Merge');
    if (anyInMetadata(item.desired, merge) || anyInMetadata(item.live, merge)) return false;
    const ops = cleanupPatch(item.live, this.opts.fieldManager, cleanup);
    if (!ops.length) return false;
    this.stats.cleanups++;
    item.live = await this.client.patch(item.ref, ops, { type: 'json', fieldManager: this.opts.fieldManager });
    return true;
  }

  /** Deletes an object whose update was refused for an immutable field, and waits until it is gone. */
  private async recreate(item: Item): Promise<void> {
    this.stats.deletes++;
    await this.client.delete(item.ref, { propagationPolicy: 'Background' });
    const deadline = performance.now() + (this.opts.recreateTimeoutMs ?? 60_000);
    let pause = 100;
    for (;;) {
      this.stats.metadataGets++;
      if (!(await this.client.getMetadata(item.ref))) break;
      if (performance.now() > deadline) throw new Error(`immutable field detected, timed out waiting for the old object to be deleted`);
      await sleep(pause);
      pause = Math.min(pause * 2, 2000);
    }
    delete item.live;
  }

  /** An immutable-field refusal: true when force allows recreating the object, otherwise a failure that says how to allow it. */
  private mayRecreate(item: Item, e: unknown, fields: string[]): boolean {
    if (item.live && this.forceAllowed(item)) return true;
    const which = fields.length ? `immutable field${fields.length > 1 ? 's' : ''} ${fields.join(', ')}` : 'an immutable field';
    const failure = objectFailure(item.ref, this.opts.driftCheck === 'apply' ? 'apply' : 'dry-run', e);
    failure.message += `; the change touches ${which}: enable force or annotate the object with ${this.group}/force: enabled to recreate it`;
    this.failures.push(failure);
    this.opts.cache?.delete(item.id);
    return false;
  }

  /** Recreates (delete, wait, apply); the action is `created`, as in Flux. */
  private async recreateAndApply(item: Item): Promise<void> {
    delete item.action;
    try {
      await this.recreate(item);
    } catch (e) {
      return this.fail(item, 'recreate', e);
    }
    try {
      this.remember(item, await this.applyRequest(item, false));
      item.action = 'created';
    } catch (e) {
      this.fail(item, 'apply', e);
    }
  }

  private remember(item: Item, obj: KubeObject | undefined): void {
    const rv = rvOf(obj);
    if (this.opts.cache && rv) this.opts.cache.set(item.id, { hash: item.hash, resourceVersion: rv });
  }

  /** `apply` mode: one request; created / configured / unchanged from what existed and the resourceVersion. */
  async applyDirect(item: Item): Promise<void> {
    let patched: boolean;
    try {
      patched = await this.cleanup(item);
    } catch (e) {
      return this.fail(item, 'cleanup', e);
    }
    let result: KubeObject;
    try {
      result = await this.applyRequest(item, false);
    } catch (e) {
      const fields = immutableFields(e);
      if (!fields) return this.fail(item, 'apply', e);
      if (this.mayRecreate(item, e, fields)) await this.recreateAndApply(item);
      return;
    }
    item.action = !item.live ? 'created' : patched || wasConfigured(item.live, result) ? 'configured' : 'unchanged';
    this.remember(item, result);
  }

  /** `dryRun` mode, first phase: validate against the server and decide whether to apply. */
  async dryRunCheck(item: Item): Promise<void> {
    let patched: boolean;
    try {
      patched = await this.cleanup(item);
    } catch (e) {
      return this.fail(item, 'cleanup', e);
    }
    // the cleanup patch answered with the whole object already
    let full: KubeObject | undefined = patched ? item.live : item.full;
    if (item.live && !full) {
      try {
        this.stats.gets++;
        full = await this.client.get(item.ref);
      } catch (e) {
        return this.fail(item, 'query', e);
      }
      if (!full) delete item.live;
    }
    let dry: KubeObject;
    try {
      dry = await this.applyRequest(item, true);
    } catch (e) {
      const fields = immutableFields(e);
      if (!fields) return this.fail(item, 'dry-run', e);
      if (this.mayRecreate(item, e, fields)) {
        // deleted only in the apply phase, so a refused stage never loses the old object
        item.action = 'created';
        item.needsApply = true;
        item.needsRecreate = true;
      }
      return;
    }
    if (!full) {
      item.action = 'created';
      item.needsApply = true;
    } else if (patched || hasDrifted(full, dry)) {
      item.action = 'configured';
      item.needsApply = true;
    } else {
      item.action = 'unchanged';
      this.remember(item, full);
    }
  }

  /** `dryRun` mode, second phase. */
  async applyChecked(item: Item): Promise<void> {
    if (item.needsRecreate) return this.recreateAndApply(item);
    try {
      this.remember(item, await this.applyRequest(item, false));
    } catch (e) {
      this.fail(item, 'apply', e);
      delete item.action;
    }
  }
}

/** Normalises an object and resolves its scope through discovery; a failure when the kind is unknown or the namespace missing. */
async function prepare(client: KubeClient, obj: KubeObject, opts: ApplyAllOptions): Promise<Item | ObjectFailure> {
  if (!obj.metadata.name) {
    return manifestFailure({ apiVersion: obj.apiVersion, kind: obj.kind, name: '' }, `${obj.kind} without metadata.name cannot be applied`);
  }
  const desired = normalizeForApply(obj, opts.ownerLabels);
  const ns = desired.metadata.namespace || undefined;
  const ref: ObjectRef = { apiVersion: desired.apiVersion, kind: desired.kind, name: desired.metadata.name, namespace: ns };
  let namespaced: boolean;
  try {
    namespaced = (await client.resource(desired.apiVersion, desired.kind)).namespaced;
  } catch (e) {
    const f = objectFailure(ref, 'dry-run', e);
    // the 404 of a missing kind is not a missing object: say what the server lacks
    if (isApiError(e) && e.statusCode === 404) f.message = `${describeRef(ref)} dry-run failed: ${e.message}`;
    return f;
  }
  if (!namespaced) {
    delete desired.metadata.namespace;
    ref.namespace = undefined;
  } else if (!ns) {
    return manifestFailure(ref, `${ref.kind}/${ref.name} namespace not specified: set metadata.namespace or a target namespace`);
  }
  return { desired, ref, id: idOf(ref), hash: desiredHash(desired, opts.fieldManager) };
}

function isFailure(x: Item | ObjectFailure): x is ObjectFailure {
  return 'message' in x && !('desired' in x);
}

/**
 * Applies `objects` in stages and returns Flux's change set and the new inventory.
 * Throws ApplyError naming every object that failed, with the change set of what was
 * applied before; a stage with failures ends the apply (later stages may need it).
 */
export async function applyAll(client: KubeClient, objects: readonly KubeObject[], opts: ApplyAllOptions): Promise<ApplyResult> {
  const stats = emptyStats();
  const concurrency = Math.max(1, opts.concurrency ?? 4);
  const changeSet: ChangeSetEntry[] = [];

  const malformed = objects.filter((o) => typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata !== 'object' || o.metadata === null);
  if (malformed.length) {
    throw new ApplyError(
      malformed.map((o) => manifestFailure({ apiVersion: String(o.apiVersion), kind: String(o.kind), name: '' }, 'an object without apiVersion, kind or metadata cannot be applied')),
      changeSet,
    );
  }
  const byStage = new Map<Stage, KubeObject[]>(STAGES.map((s) => [s, []]));
  for (const o of objects) byStage.get(stageOf(o))?.push(o);

  for (const stage of STAGES) {
    const raw = byStage.get(stage) ?? [];
    if (!raw.length) continue;
    // resolved stage by stage: a custom resource's kind exists only once its CRD, applied earlier, is established
    const prepared = await mapLimit(raw, concurrency, (o) => prepare(client, o, opts));
    const failures = prepared.filter(isFailure);
    const unique = new Map<string, Item>();
    for (const item of prepared.filter((x): x is Item => !isFailure(x))) {
      if (unique.has(item.id)) failures.push(manifestFailure(item.ref, `${describeRef(item.ref)} is defined more than once`));
      unique.set(item.id, item);
    }
    if (failures.length) throw new ApplyError(failures, changeSet);
    const stageItems = [...unique.values()].sort((a, b) => compareForApply(a.ref, b.ref));
    const run = new StageRun(client, opts, stats);
    await runStage(client, run, stageItems, opts, stats, concurrency);
    const done = stageItems.filter((i) => i.action);
    changeSet.push(...done.map((i) => changeSetEntry(i.ref, i.action as Action)));
    if (run.failures.length) throw new ApplyError(run.failures, changeSet);

    if (stage !== 'resources') {
      const touched = done.filter((i) => i.action === 'created' || i.action === 'configured');
      await waitForStage(client, touched, opts, stats, changeSet);
      if (touched.some((i) => i.ref.kind === 'CustomResourceDefinition')) client.mapper.invalidate();
    }
  }

  return {
    changeSet,
    inventory: inventoryOf(changeSet),
    lines: changeSetLines(changeSet),
    changed: changeSet.some((e) => hasChanged(e.action)),
    stats,
  };
}

async function runStage(client: KubeClient, run: StageRun, items: Item[], opts: ApplyAllOptions, stats: ApplyStats, concurrency: number): Promise<void> {
  const toLookUp: Item[] = [];
  for (const item of items) {
    if (run.excluded(item.desired)) item.action = 'skipped';
    else toLookUp.push(item);
  }
  const liveSource = opts.liveSource ?? listingMetadataSource;
  const lookupStats = { lists: 0, gets: 0 };
  const live = await liveSource.lookup(client, toLookUp.map((i) => ({ id: i.id, ref: i.ref })), { ownerLabels: opts.ownerLabels, concurrency, stats: lookupStats });
  stats.lists += lookupStats.lists;
  stats.metadataGets += lookupStats.gets;

  const group = opts.annotationGroup ?? DEFAULT_GROUP;
  const work: Item[] = [];
  for (const item of toLookUp) {
    const state: LiveState | undefined = live.get(item.id);
    if (!state || 'error' in state) {
      run.failures.push(objectFailure(item.ref, 'query', state && 'error' in state ? state.error : new Error('no answer for the object')));
      continue;
    }
    if (state.found) item.live = state.obj;
    if (run.excluded(item.live)) {
      item.action = 'skipped';
      continue;
    }
    if (item.live && anyInMetadata(item.desired, { [`${group}/ssa`]: 'IfNotPresent' })) {
      item.action = 'skipped';
      continue;
    }
    const rec = opts.cache?.get(item.id);
    if (rec && item.live && rec.hash === item.hash && rec.resourceVersion === rvOf(item.live)) {
      stats.cacheHits++;
      item.action = 'unchanged';
      continue;
    }
    work.push(item);
  }
  for (const item of items) if (item.action === 'skipped') opts.cache?.delete(item.id);

  if (opts.driftCheck === 'apply') {
    await mapLimit(work, concurrency, (item) => run.applyDirect(item));
    return;
  }
  await prefetchLive(client, work, opts, stats, concurrency);
  await mapLimit(work, concurrency, (item) => run.dryRunCheck(item));
  // like Flux, a stage with an object the server refuses is not applied at all
  if (run.failures.length) {
    for (const item of work) delete item.action;
    return;
  }
  await mapLimit(
    work.filter((i) => i.needsApply),
    concurrency,
    (item) => run.applyChecked(item),
  );
}

/** Groups this large fetch their live objects with one labelled list instead of a GET each. */
const FULL_LIST_MIN = 8;

/**
 * The dry-run comparison needs whole live objects; fetch them per kind and namespace with
 * the owner-label selector. Objects the list misses (not labelled yet) are fetched one by
 * one later; a failed list (a tenant may not list) only costs that fallback.
 */
async function prefetchLive(client: KubeClient, work: readonly Item[], opts: ApplyAllOptions, stats: ApplyStats, concurrency: number): Promise<void> {
  const selector = Object.entries(opts.ownerLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  if (!selector) return;
  const groups = new Map<string, Item[]>();
  for (const item of work) {
    if (!item.live) continue;
    const key = `${item.ref.apiVersion}\0${item.ref.kind}\0${item.ref.namespace ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(item);
  }
  const big = [...groups.values()].filter((g) => g.length >= FULL_LIST_MIN);
  await mapLimit(big, concurrency, async (group) => {
    const first = group[0] as Item;
    try {
      stats.lists++;
      const list = await client.list(first.ref.apiVersion, first.ref.kind, { namespace: first.ref.namespace, labelSelector: selector });
      const byName = new Map(list.items.map((o) => [o.metadata.name, o]));
      for (const item of group) {
        const obj = byName.get(item.ref.name);
        if (obj) item.full = obj;
      }
    } catch {
      // fall back to a GET per object
    }
  });
}

async function waitForStage(client: KubeClient, items: Item[], opts: ApplyAllOptions, stats: ApplyStats, changeSet: ChangeSetEntry[]): Promise<void> {
  if (!items.length || opts.waitForEstablished === false) return;
  const w = typeof opts.waitForEstablished === 'object' ? opts.waitForEstablished : {};
  const healthStats = { gets: 0 };
  const report = await checkHealth(
    client,
    items.map((i) => i.ref),
    { timeoutMs: w.timeoutMs ?? 60_000, pollMs: w.pollMs ?? 2000, stats: healthStats },
  );
  stats.gets += healthStats.gets;
  if (!report.healthy) {
    const failures = report.results
      .filter((r) => r.status !== 'Current')
      .map((r) => manifestFailure(r.ref, `${r.subject} is not ready after apply: status '${r.status}': ${r.message}`));
    throw new ApplyError(failures, changeSet);
  }
}
