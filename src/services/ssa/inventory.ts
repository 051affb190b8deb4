/**
 * Flux's inventory format (`status.inventory.entries[]` of a Kustomization):
 * `{ id: "<namespace>_<name>_<group>_<kind>", v: "<version>" }`. Cluster-scoped objects
 * have an empty namespace (`_foo__Namespace`), the core group is empty, and a colon in the
 * name of an RBAC object is written as `__` (cli-utils ObjMetadata), so inventories written
 * by Flux and by Flotilla can be read by either.
 */
import type { ObjectRef } from '../../runtime/client/objects.ts';
import { compareForApply, groupOf } from './order.ts';

export interface InventoryEntry {
  id: string;
  v: string;
}

/** The identity of an object independent of its API version. */
export interface ObjMetadata {
  namespace: string;
  name: string;
  group: string;
  kind: string;
}

const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
const RBAC_GROUP = 'rbac.authorization.k8s.io';

function versionOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? apiVersion : apiVersion.slice(i + 1);
}

export function metadataOf(ref: ObjectRef): ObjMetadata {
  return { namespace: ref.namespace ?? '', name: ref.name, group: groupOf(ref.apiVersion), kind: ref.kind };
}

export function formatId(m: ObjMetadata): string {
  const name = m.group === RBAC_GROUP && RBAC_KINDS.has(m.kind) ? m.name.replaceAll(':', '__') : m.name;
  return `${m.namespace}_${name}_${m.group}_${m.kind}`;
}

/** The inventory id of an object reference, e.g. `apps_web_apps_Deployment`. */
export function idOf(ref: ObjectRef): string {
  return formatId(metadataOf(ref));
}

export class InventoryFormatError extends Error {
  constructor(id: string, why: string) {
    super(`invalid inventory entry '${id}': ${why}`);
    this.name = 'InventoryFormatError';
  }
}

/** Parses an id the way cli-utils does: namespace first, then kind and group from the end. */
export function parseId(id: string): ObjMetadata {
  const first = id.indexOf('_');
  if (first < 0) throw new InventoryFormatError(id, 'expected <namespace>_<name>_<group>_<kind>');
  const namespace = id.slice(0, first);
  let rest = id.slice(first + 1);
  const lastKind = rest.lastIndexOf('_');
  if (lastKind < 0) throw new InventoryFormatError(id, 'expected <namespace>_<name>_<group>_<kind>');
  const kind = rest.slice(lastKind + 1);
  rest = rest.slice(0, lastKind);
  const lastGroup = rest.lastIndexOf('_');
  if (lastGroup < 0) throw new InventoryFormatError(id, 'expected <namespace>_<name>_<group>_<kind>');
  const group = rest.slice(lastGroup + 1);
  const name = rest.slice(0, lastGroup).replaceAll('__', ':');
  if (name.includes('_')) throw new InventoryFormatError(id, 'too many fields');
  if (!name || !kind) throw new InventoryFormatError(id, 'empty name or kind');
  return { namespace, name, group, kind };
}

export function entryOf(ref: ObjectRef): InventoryEntry {
  return { id: idOf(ref), v: versionOf(ref.apiVersion) };
}

/** Inventory entries of objects (or references), in apply order, without duplicates. */
type Identified = ObjectRef | { apiVersion: string; kind: string; metadata: { name: string; namespace?: string | undefined } };

export function entriesOf(objects: readonly Identified[]): InventoryEntry[] {
  const refs = objects.map((o) =>
    'metadata' in o ? { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace || undefined } : o,
  );
  const seen = new Set<string>();
  const out: InventoryEntry[] = [];
  for (const ref of refs.sort(compareForApply)) {
    const e = entryOf(ref);
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e);
  }
  return out;
}

/** The object an entry stands for; the namespace is undefined for cluster-scoped objects. */
export function parseEntry(entry: InventoryEntry): ObjectRef {
  const m = parseId(entry.id);
  return {
    apiVersion: m.group ? `${m.group}/${entry.v}` : entry.v,
    kind: m.kind,
    name: m.name,
    namespace: m.namespace || undefined,
  };
}

/**
 * Entries of `previous` whose object is not in `next` (compared by id, so an object that
 * only moved to another API version is not stale), in apply order.
 */
export function diffInventory(previous: readonly InventoryEntry[], next: readonly InventoryEntry[]): InventoryEntry[] {
  const keep = new Set(next.map((e) => e.id));
  const stale = previous.filter((e) => !keep.has(e.id));
  return sortEntries(stale);
}

/** Adds `extra` entries that are not in `inventory` yet (prune survivors are re-tracked this way). */
export function mergeInventory(inventory: readonly InventoryEntry[], extra: readonly InventoryEntry[]): InventoryEntry[] {
  const seen = new Set(inventory.map((e) => e.id));
  const out = [...inventory];
  for (const e of extra) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    out.push(e);
  }
  return out;
}

/** Sorts entries in apply order; an unparsable entry sorts last rather than throwing. */
export function sortEntries(entries: readonly InventoryEntry[]): InventoryEntry[] {
  const keyed = entries.map((e) => {
    try {
      return { e, ref: parseEntry(e) };
    } catch {
      return { e, ref: undefined };
    }
  });
  keyed.sort((a, b) => (a.ref && b.ref ? compareForApply(a.ref, b.ref) : a.ref ? -1 : b.ref ? 1 : 0));
  return keyed.map((k) => k.e);
}
