/**
 * Garbage collection of objects that left the build, and deletion of everything on
 * Kustomization deletion. An object is deleted only while it still carries the owner
 * labels with the expected values and no opt-out (`prune: disabled`, `reconcile: disabled`,
 * `ssa: Ignore`): something another owner adopted, or a user protected, is left alone.
 */
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject, ObjectRef } from '../../runtime/client/objects.ts';
import type { AppliedCache } from './applied-cache.ts';
import { changeSetEntry, changeSetLines, type ChangeSetEntry } from './changeset.ts';
import { mapLimit, sleep } from './concurrency.ts';
import { objectFailure, PruneError, type ObjectFailure } from './errors.ts';
import { parseEntry, type InventoryEntry } from './inventory.ts';
import { anyInMetadata } from './normalize.ts';
import { deletionTiers } from './order.ts';

export interface PruneOptions {
  /** Every one must be on the live object with this value, or the object is skipped. */
  ownerLabels: Record<string, string>;
  /** Deletes in flight within one tier of the reverse apply order (default 4). */
  concurrency?: number;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** Prefix of the opt-out annotations (default `kustomize.toolkit.fluxcd.io`). */
  annotationGroup?: string;
  /** The apply cache of the same applier: pruned objects are forgotten. */
  cache?: AppliedCache;
}

export interface PruneResult {
  /** Per object: `deleted` (also when already gone or terminating) or `skipped`. */
  changeSet: ChangeSetEntry[];
  /** Change-set lines of the deleted objects, e.g. `Deployment/default/old deleted`. */
  lines: string[];
  stats: { gets: number; deletes: number };
}

interface Target {
  entry: InventoryEntry;
  ref: ObjectRef;
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string | undefined;
}

function labelsMatch(obj: KubeObject, owner: Record<string, string>): boolean {
  const labels = obj.metadata.labels ?? {};
  return Object.entries(owner).every(([k, v]) => labels[k] === v);
}

/**
 * Deletes the objects of `entries` that may be deleted, namespaced objects first and CRDs
 * last. Throws PruneError when some could not be deleted; its `survivors` are the entries
 * to keep in the inventory so the next reconcile tries again.
 */
export async function prune(client: KubeClient, entries: readonly InventoryEntry[], opts: PruneOptions): Promise<PruneResult> {
  const group = opts.annotationGroup ?? 'kustomize.toolkit.fluxcd.io';
  const exclusions = [{ [`${group}/prune`]: 'disabled' }, { [`${group}/reconcile`]: 'disabled' }, { [`${group}/ssa`]: 'Ignore' }];
  const stats = { gets: 0, deletes: 0 };
  const failures: ObjectFailure[] = [];
  const survivors: InventoryEntry[] = [];
  const done = new Map<InventoryEntry, ChangeSetEntry>();

  const targets: Target[] = [];
  for (const entry of entries) {
    let ref: ObjectRef;
    try {
      ref = parseEntry(entry);
    } catch (e) {
      failures.push({ ref: { apiVersion: entry.v, kind: '', name: entry.id }, message: e instanceof Error ? e.message : String(e), forbidden: false, cause: e });
      survivors.push(entry);
      continue;
    }
    targets.push({ entry, ref, apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace: ref.namespace });
  }

  const one = async (t: Target): Promise<void> => {
    let live: KubeObject | undefined;
    try {
      stats.gets++;
      live = await client.getMetadata(t.ref);
    } catch (e) {
      failures.push(objectFailure(t.ref, 'query', e));
      survivors.push(t.entry);
      return;
    }
    if (!live || live.metadata.deletionTimestamp) {
      // gone or going: the end state is reached without another request
      done.set(t.entry, changeSetEntry(t.ref, 'deleted'));
      return;
    }
    if (!labelsMatch(live, opts.ownerLabels) || exclusions.some((sel) => anyInMetadata(live, sel))) {
      done.set(t.entry, changeSetEntry(t.ref, 'skipped'));
      return;
    }
    try {
      stats.deletes++;
      await client.delete(t.ref, { propagationPolicy: opts.propagationPolicy ?? 'Background' });
      done.set(t.entry, changeSetEntry(t.ref, 'deleted'));
    } catch (e) {
      failures.push(objectFailure(t.ref, 'delete', e));
      survivors.push(t.entry);
    }
  };

  const ordered: Target[] = [];
  for (const tier of deletionTiers(targets)) {
    await mapLimit(tier, opts.concurrency ?? 4, one);
    ordered.push(...tier);
  }
  for (const t of targets) if (done.get(t.entry)?.action === 'deleted') opts.cache?.delete(t.entry.id);

  const changeSet = ordered.map((t) => done.get(t.entry)).filter((e): e is ChangeSetEntry => e !== undefined);
  if (failures.length) throw new PruneError(failures, changeSet, survivors);
  return { changeSet, lines: changeSetLines(changeSet), stats };
}

export interface DeleteAllOptions extends PruneOptions {
  /** Deletion policy `WaitForTermination`: wait until the deleted objects are gone. */
  waitForTermination?: { timeoutMs: number; pollMs?: number };
}

export interface DeleteAllResult extends PruneResult {
  /** Set when waiting for termination timed out (Flux logs it and lets the deletion finish). */
  terminationError?: string;
}

/** Deletes every object of an inventory (Kustomization deletion with `deletionPolicy` Delete, MirrorPrune or WaitForTermination). */
export async function deleteAll(client: KubeClient, entries: readonly InventoryEntry[], opts: DeleteAllOptions): Promise<DeleteAllResult> {
  const result = await prune(client, entries, opts);
  if (!opts.waitForTermination) return result;
  const deadline = performance.now() + opts.waitForTermination.timeoutMs;
  const pollMs = opts.waitForTermination.pollMs ?? 2000;
  let remaining = result.changeSet.filter((e) => e.action === 'deleted').map((e) => e.ref);
  for (;;) {
    const present = await mapLimit(remaining, opts.concurrency ?? 4, (ref) => {
      result.stats.gets++;
      // an error answers nothing: count the object as still there and ask again
      return client.getMetadata(ref).then(
        (o) => o !== undefined,
        () => true,
      );
    });
    remaining = remaining.filter((_, i) => present[i]);
    if (!remaining.length) return result;
    const left = deadline - performance.now();
    if (left <= 0) {
      const names = remaining.map((r) => changeSetEntry(r, 'deleted').subject);
      return { ...result, terminationError: `timeout waiting for termination of: [${names.join(', ')}]` };
    }
    await sleep(Math.min(pollMs, left));
  }
}
