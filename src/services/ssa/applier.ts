/**
 * The ssa service behind one object that a controller keeps for its lifetime: it owns the
 * apply caches (one per owner and identity, so no-op reconciles cost no request) and
 * turns inventory entries into the references apply, prune and health work on.
 */
import type { KubeClient } from '../../runtime/client/client.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { AppliedCache, canonicalJson } from './applied-cache.ts';
import { applyAll, type ApplyAllOptions, type ApplyResult, type DriftCheck } from './apply.ts';
import { checkHealth, type HealthOptions, type HealthReport } from './health.ts';
import { diffInventory, parseEntry, type InventoryEntry } from './inventory.ts';
import { prune } from './prune.ts';

export interface SsaApplierOptions {
  fieldManager: string;
  /** Requests in flight per stage (`--concurrent-ssa`). */
  concurrency?: number;
  driftCheck?: DriftCheck;
  /** Longest pause between health polls. */
  healthPollMs?: number;
  /** Stop a health wait at the first Failed object (Flux's default; DisableFailFastBehavior turns it off). */
  failFast?: boolean;
}

export interface ApplyCall {
  force: boolean;
  ownerLabels: Record<string, string>;
  /** Who applies, and where (the impersonated identity; a remote cluster's name): scopes the cache. */
  identity: string;
}

export interface ApplyOutcome {
  entries: InventoryEntry[];
  /** Change-set lines of what changed. */
  changeSet: string[];
  changed: boolean;
  /** The full result: per-object actions and request statistics. */
  result: ApplyResult;
}

export class SsaApplier {
  private readonly caches = new Map<string, AppliedCache>();

  constructor(private readonly opts: SsaApplierOptions) {}

  private cacheFor(ownerLabels: Record<string, string>, identity: string): AppliedCache {
    const key = `${canonicalJson(ownerLabels)}\0${identity}`;
    let cache = this.caches.get(key);
    if (!cache) this.caches.set(key, (cache = new AppliedCache()));
    return cache;
  }

  /** Applies in stages; returns the new inventory and Flux's change-set lines. Throws ApplyError. */
  async apply(client: KubeClient, objects: readonly KubeObject[], call: ApplyCall): Promise<ApplyOutcome> {
    const cache = this.cacheFor(call.ownerLabels, call.identity);
    const applyOpts: ApplyAllOptions = {
      fieldManager: this.opts.fieldManager,
      ownerLabels: call.ownerLabels,
      force: call.force,
      concurrency: this.opts.concurrency ?? 4,
      cache,
      ...(this.opts.driftCheck ? { driftCheck: this.opts.driftCheck } : {}),
    };
    const result = await applyAll(client, objects, applyOpts);
    cache.retain(result.inventory.map((e) => e.id));
    return { entries: result.inventory, changeSet: result.lines, changed: result.changed, result };
  }

  /** Entries of `before` that are not in `after`, in apply order. */
  stale(before: readonly InventoryEntry[], after: readonly InventoryEntry[]): InventoryEntry[] {
    return diffInventory(before, after);
  }

  /** Deletes stale objects that still carry the owner labels; returns the change-set lines. Throws PruneError. */
  async prune(client: KubeClient, stale: readonly InventoryEntry[], ownerLabels: Record<string, string>): Promise<string[]> {
    const res = await prune(client, stale, { ownerLabels, concurrency: this.opts.concurrency ?? 4 });
    return res.lines;
  }

  /** kstatus health of the entries' objects, waiting up to `timeoutMs`. */
  async health(
    client: KubeClient,
    entries: readonly InventoryEntry[],
    timeoutMs: number,
    opts: Pick<HealthOptions, 'signal' | 'onPending' | 'statusOf'> = {},
  ): Promise<HealthReport> {
    return checkHealth(client, entries.map((e) => parseEntry(e)), { timeoutMs, pollMs: this.opts.healthPollMs ?? 5000, failFast: this.opts.failFast ?? true, ...opts });
  }

  /** Drops the caches of an owner (its Kustomization was deleted). */
  forget(ownerLabels: Record<string, string>): void {
    const prefix = `${canonicalJson(ownerLabels)}\0`;
    for (const key of this.caches.keys()) if (key.startsWith(prefix)) this.caches.delete(key);
  }
}
