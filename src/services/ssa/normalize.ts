/**
 * What Flux does to a built object before applying it (fluxcd/pkg ssa/normalize), written
 * for unstructured objects so no field is lost.
 */
import type { KubeObject } from '../../runtime/client/objects.ts';
import { groupOf } from './order.ts';

type Json = Record<string, unknown>;

function isRecord(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function at(obj: unknown, path: readonly string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** Where the pod spec sits in each workload kind (group/kind, core group empty). */
const POD_SPEC_PATHS: Record<string, readonly string[]> = {
  '/Pod': ['spec'],
  '/PodTemplate': ['template', 'spec'],
  '/ReplicationController': ['spec', 'template', 'spec'],
  'apps/Deployment': ['spec', 'template', 'spec'],
  'apps/StatefulSet': ['spec', 'template', 'spec'],
  'apps/DaemonSet': ['spec', 'template', 'spec'],
  'apps/ReplicaSet': ['spec', 'template', 'spec'],
  'extensions/Deployment': ['spec', 'template', 'spec'],
  'extensions/DaemonSet': ['spec', 'template', 'spec'],
  'extensions/ReplicaSet': ['spec', 'template', 'spec'],
  'batch/Job': ['spec', 'template', 'spec'],
  'batch/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

function defaultProtocol(ports: unknown): void {
  if (!Array.isArray(ports)) return;
  for (const port of ports) {
    if (isRecord(port) && (port['protocol'] === undefined || port['protocol'] === null || port['protocol'] === '')) port['protocol'] = 'TCP';
  }
}

/**
 * Kubernetes before 1.22 rejects a server-side apply of ports without `protocol` (it is a
 * key of the associative list but its default is not applied before the merge), so TCP,
 * the server's own default, is written in. Mutates `obj`.
 */
export function defaultPortProtocols(obj: KubeObject): void {
  const key = `${groupOf(obj.apiVersion)}/${obj.kind}`;
  if (key === '/Service') {
    defaultProtocol(at(obj, ['spec', 'ports']));
    return;
  }
  const path = POD_SPEC_PATHS[key];
  if (!path) return;
  const podSpec = at(obj, path);
  if (!isRecord(podSpec)) return;
  for (const list of ['containers', 'initContainers']) {
    const containers = podSpec[list];
    if (!Array.isArray(containers)) continue;
    for (const c of containers) if (isRecord(c)) defaultProtocol(c['ports']);
  }
}

/**
 * A Secret's `stringData` is write-only: the server folds it into `data`, so applying it as
 * is reports drift on every reconcile. Fold it here, as Flux does. Mutates `obj`.
 */
export function foldSecretStringData(obj: KubeObject): void {
  if (obj.kind !== 'Secret' || obj.apiVersion !== 'v1') return;
  const stringData = obj['stringData'];
  if (!isRecord(stringData) || Object.keys(stringData).length === 0) {
    delete obj['stringData'];
    return;
  }
  const data: Json = isRecord(obj['data']) ? { ...obj['data'] } : {};
  for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(typeof v === 'string' ? v : String(v), 'utf8').toString('base64');
  obj['data'] = data;
  delete obj['stringData'];
}

/**
 * A deep copy of `obj` ready to apply: server-owned fields dropped (`status`, which the
 * apply endpoint ignores anyway, creationTimestamp, resourceVersion, uid, managedFields),
 * port protocols defaulted, Secret stringData folded, and `labels` merged in (the owner
 * labels win over labels of the same name in the manifest).
 */
export function normalizeForApply(obj: KubeObject, labels: Record<string, string> = {}): KubeObject {
  const out = structuredClone(obj);
  const meta = out.metadata;
  for (const k of ['creationTimestamp', 'resourceVersion', 'uid', 'managedFields', 'generation', 'selfLink', 'deletionTimestamp']) delete meta[k];
  delete out['status'];
  if (Object.keys(labels).length) meta.labels = { ...(meta.labels ?? {}), ...labels };
  defaultPortProtocols(out);
  foldSecretStringData(out);
  return out;
}

/** Flux's metadata selector: a label or an annotation equal to the value, ignoring case. */
type Labelled = { metadata: { labels?: Record<string, string> | undefined; annotations?: Record<string, string> | undefined } };

export function anyInMetadata(obj: Labelled | undefined, selector: Record<string, string>): boolean {
  if (!obj) return false;
  const labels = obj.metadata.labels ?? {};
  const annotations = obj.metadata.annotations ?? {};
  for (const [k, v] of Object.entries(selector)) {
    const l = labels[k];
    const a = annotations[k];
    if ((l && l.toLowerCase() === v.toLowerCase()) || (a && a.toLowerCase() === v.toLowerCase())) return true;
  }
  return false;
}
