/**
 * Taking over fields written by `kubectl` and friends, as Flux does before it applies: the
 * fields those managers own are handed to our apply manager, so the next apply removes
 * what a `kubectl edit` added instead of leaving it in place forever.
 */
import type { KubeObject } from '../../runtime/client/objects.ts';

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
  [k: string]: unknown;
}

export interface ManagerMatch {
  /** Matched as a prefix unless `exact` (so `kubectl` covers `kubectl-edit`, `kubectl-client-side-apply`). */
  name: string;
  operation: 'Apply' | 'Update';
  exact?: boolean;
}

export interface CleanupOptions {
  /** Managers whose fields are taken over. */
  managers: ManagerMatch[];
  /** Annotations removed from the live object. */
  annotations: string[];
  /** Labels removed from the live object. */
  labels: string[];
}

/** Flux kustomize-controller's cleanup for a given field manager. */
export function fluxCleanup(fieldManager: string): CleanupOptions {
  return {
    managers: [
      { name: 'kubectl', operation: 'Apply' },
      { name: 'kubectl', operation: 'Update' },
      { name: 'before-first-apply', operation: 'Update' },
      { name: fieldManager, operation: 'Update' },
    ],
    annotations: ['kubectl.kubernetes.io/last-applied-configuration', 'kustomize.toolkit.fluxcd.io/checksum', 'fluxcd.io/sync-checksum'],
    labels: ['fluxcd.io/sync-gc-mark'],
  };
}

export interface JsonPatchOp {
  op: 'remove' | 'replace';
  path: string;
  value?: unknown;
}

function matches(entry: ManagedFieldsEntry, m: ManagerMatch): boolean {
  if (entry.operation !== m.operation || entry.subresource) return false;
  const name = entry.manager ?? '';
  return m.exact ? name === m.name : name.startsWith(m.name);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Union of two FieldsV1 tries (each key a path element, `{}` a leaf). */
export function mergeFieldsV1(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(a ?? {}) };
  for (const [k, v] of Object.entries(b ?? {})) {
    const prev = out[k];
    out[k] = isRecord(prev) && isRecord(v) ? mergeFieldsV1(prev, v) : isRecord(v) ? mergeFieldsV1(undefined, v) : v;
  }
  return out;
}

const escapePointer = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The JSON patch that renames the matching managers' entries to `fieldManager` (Apply),
 * merged into its existing Apply entry, and removes the listed annotations and labels;
 * empty when the live object needs none of it.
 */
export function cleanupPatch(live: KubeObject, fieldManager: string, opts: CleanupOptions): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const annotations = live.metadata.annotations ?? {};
  for (const k of opts.annotations) if (k in annotations) ops.push({ op: 'remove', path: `/metadata/annotations/${escapePointer(k)}` });
  const labels = live.metadata.labels ?? {};
  for (const k of opts.labels) if (k in labels) ops.push({ op: 'remove', path: `/metadata/labels/${escapePointer(k)}` });

  const entries = (live.metadata['managedFields'] as ManagedFieldsEntry[] | undefined) ?? [];
  let ours = entries.find((e) => e.manager === fieldManager && e.operation === 'Apply' && !e.subresource);
  const kept: ManagedFieldsEntry[] = [];
  let edited = false;
  for (const e of entries) {
    if (e === ours) continue;
    if (opts.managers.some((m) => matches(e, m))) {
      edited = true;
      ours = ours
        ? { ...ours, fieldsV1: mergeFieldsV1(ours.fieldsV1, e.fieldsV1) }
        : { ...e, manager: fieldManager, operation: 'Apply' };
      continue;
    }
    kept.push(e);
  }
  if (edited && ours) ops.push({ op: 'replace', path: '/metadata/managedFields', value: [...kept, ours] });
  return ops;
}
