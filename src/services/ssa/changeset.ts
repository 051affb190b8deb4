/**
 * The result of applying or deleting a set of objects, in Flux's words: one entry per
 * object with its action, printed as `Deployment/default/web configured`.
 */
import { describeRef, type ObjectRef } from '../../runtime/client/objects.ts';
import { entryOf, type InventoryEntry } from './inventory.ts';

export type Action = 'created' | 'configured' | 'unchanged' | 'deleted' | 'skipped' | 'unknown';

export interface ChangeSetEntry {
  ref: ObjectRef;
  /** `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects), as Flux prints it. */
  subject: string;
  action: Action;
}

export function changeSetEntry(ref: ObjectRef, action: Action): ChangeSetEntry {
  return { ref, subject: describeRef(ref), action };
}

/** Whether the action changed the cluster (Flux's HasChanged: anything but unchanged or skipped). */
export function hasChanged(action: Action): boolean {
  return action !== 'unchanged' && action !== 'skipped';
}

/** Flux's change-set log lines; by default only the entries that changed something. */
export function changeSetLines(entries: readonly ChangeSetEntry[], opts: { all?: boolean } = {}): string[] {
  return entries.filter((e) => opts.all || hasChanged(e.action)).map((e) => `${e.subject} ${e.action}`);
}

/** The inventory of an apply: every object of the change set, skipped ones included (as Flux records them). */
export function inventoryOf(entries: readonly ChangeSetEntry[]): InventoryEntry[] {
  const seen = new Set<string>();
  const out: InventoryEntry[] = [];
  for (const e of entries) {
    const inv = entryOf(e.ref);
    if (seen.has(inv.id)) continue;
    seen.add(inv.id);
    out.push(inv);
  }
  return out;
}
