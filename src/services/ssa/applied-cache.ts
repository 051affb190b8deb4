/**
 * What was last applied, per object: the hash of the desired object and the
 * resourceVersion the server held after the apply (or after a check that found it in
 * sync). When both are unchanged at the next reconcile, the object has not drifted and
 * costs no request (DESIGN.md §6).
 */
import { createHash } from 'node:crypto';

export interface AppliedRecord {
  hash: string;
  resourceVersion: string;
}

/** JSON with object keys sorted, so equal objects hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function desiredHash(obj: unknown, salt = ''): string {
  return createHash('sha256').update(salt).update('\0').update(canonicalJson(obj)).digest('base64url');
}

/**
 * One per applier scope (a Kustomization and the cluster it targets): the same object id
 * means the same object only within one target. Entries are dropped when their object
 * fails, is skipped or is pruned, so a stale record can only cost a request, never skip one.
 */
export class AppliedCache {
  private readonly records = new Map<string, AppliedRecord>();

  get(id: string): AppliedRecord | undefined {
    return this.records.get(id);
  }

  set(id: string, record: AppliedRecord): void {
    this.records.set(id, record);
  }

  delete(id: string): void {
    this.records.delete(id);
  }

  /** Forget objects that are no longer applied (keeps memory bound to the current inventory). */
  retain(ids: Iterable<string>): void {
    const keep = new Set(ids);
    for (const id of this.records.keys()) if (!keep.has(id)) this.records.delete(id);
  }

  clear(): void {
    this.records.clear();
  }

  get size(): number {
    return this.records.size;
  }
}
