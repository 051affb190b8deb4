import { isAlias, isMap, isScalar, isSeq, parseAllDocuments, visit, type Document, type Node, type Scalar } from 'yaml';
import { resolvePlainScalar } from '../sops/go-values.ts';
import { scanManifests } from './generate.ts';

/**
 * Builds, without spawning kustomize, the trivial case Flux generates itself: a directory
 * of plain manifests, no kustomization file anywhere below it and no spec overrides.
 * kustomize re-serialises every object through go-yaml v3 and encoding/json (map keys
 * sorted, scalars typed by go-yaml's rules) and sorts objects in its legacy kind order;
 * we reproduce exactly that and give up (returning undefined, so the caller runs
 * kustomize) on anything where the two could differ: anchors, tags, ambiguous scalars,
 * List kinds, kustomize's own annotations, duplicate objects, null list items.
 * in-process.test.ts compares the result with kustomize's on representative and generated inputs.
 */

type Obj = Record<string, unknown>;

const LEGACY_ORDER_FIRST = [
  'Namespace',
  'ResourceQuota',
  'StorageClass',
  'CustomResourceDefinition',
  'ServiceAccount',
  'PodSecurityPolicy',
  'Role',
  'ClusterRole',
  'RoleBinding',
  'ClusterRoleBinding',
  'ConfigMap',
  'Secret',
  'Endpoints',
  'Service',
  'LimitRange',
  'PriorityClass',
  'PersistentVolume',
  'PersistentVolumeClaim',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const LEGACY_ORDER_LAST = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];
const KIND_RANK = new Map<string, number>([
  ...LEGACY_ORDER_FIRST.map((k, i): [string, number] => [k, i - LEGACY_ORDER_FIRST.length]),
  ...LEGACY_ORDER_LAST.map((k, i): [string, number] => [k, i + 1]),
]);

const LOCAL_CONFIG = 'config.kubernetes.io/local-config';
const RESERVED_ANNOTATION_PREFIXES = ['config.kubernetes.io/', 'internal.config.kubernetes.io/', 'config.k8s.io/', 'kustomize.config.k8s.io/'];

class NotTrivial extends Error {}

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
const byteCompare = (a: string, b: string): number => Buffer.compare(bytes(a), bytes(b));

/**
 * The order go-yaml's encoder gives map keys (kustomize prints maps through it): letters
 * by code point, letters after other characters, runs of digits compared as numbers.
 */
export function goYamlKeyCompare(a: string, b: string): number {
  const ar = Array.from(a);
  const br = Array.from(b);
  const isLetterRune = (r: string): boolean => /\p{L}/u.test(r);
  const isDigitRune = (r: string | undefined): boolean => r !== undefined && /\p{Nd}/u.test(r);
  const digitValue = (r: string): number => (r.codePointAt(0) ?? 48) - 48;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const x = ar[i] ?? '';
    const y = br[i] ?? '';
    if (x === y) continue;
    const xl = isLetterRune(x);
    const yl = isLetterRune(y);
    if (xl && yl) return (x.codePointAt(0) ?? 0) - (y.codePointAt(0) ?? 0);
    if (xl || yl) return yl ? -1 : 1;
    let an = 0;
    let bn = 0;
    if (x === '0' || y === '0') {
      for (let j = i - 1; j >= 0 && isDigitRune(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1;
          bn = 1;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigitRune(ar[ai]); ai++) an = an * 10 + digitValue(ar[ai] ?? '0');
    for (; bi < br.length && isDigitRune(br[bi]); bi++) bn = bn * 10 + digitValue(br[bi] ?? '0');
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai - bi;
    return (x.codePointAt(0) ?? 0) - (y.codePointAt(0) ?? 0);
  }
  return ar.length - br.length;
}

/** The value go-yaml v3 gives a plain scalar, when YAML 1.2 (our parser) gives the same. */
function plainValue(text: string): unknown {
  const go = resolvePlainScalar(text);
  switch (go.kind) {
    case 'str':
      return text;
    case 'null':
      return null;
    case 'bool':
      return go.value;
    case 'int': {
      const n = Number(go.value);
      if (!Number.isSafeInteger(n)) throw new NotTrivial();
      return n;
    }
    case 'float':
      if (!Number.isFinite(go.value)) throw new NotTrivial(); // kustomize fails on Inf/NaN
      return go.value;
    default:
      // timestamps become RFC 3339 strings, uints lose precision: let kustomize decide
      throw new NotTrivial();
  }
}

/**
 * Plain scalars that YAML parsers disagree on (indicator characters, and in flow
 * collections the flow indicators) are left to kustomize, which may reject them.
 */
function scalarValue(node: Scalar, inFlow: boolean): unknown {
  if (node.tag !== undefined) throw new NotTrivial();
  const text = String(node.value);
  if (node.type !== 'PLAIN') return text;
  if (/^[?:,[\]{}#&*!|>'"%@`]/.test(text) || /^-(\s|$)/.test(text)) throw new NotTrivial();
  if (inFlow && /[?:#,[\]{}]/.test(text)) throw new NotTrivial();
  return plainValue(text);
}

/** Converts a failsafe-parsed node to the value kustomize would print, keys sorted by bytes. */
function toValue(node: Node | null, doc: Document, inFlow = false): unknown {
  if (node === null) return null;
  if (isAlias(node) || (node as { anchor?: string }).anchor !== undefined) throw new NotTrivial();
  if (isScalar(node)) return scalarValue(node, inFlow);
  if (isSeq(node)) {
    if (node.tag !== undefined) throw new NotTrivial();
    const flow = inFlow || node.flow === true;
    return node.items.map((item) => {
      const v = toValue(item as Node | null, doc, flow);
      if (v === null) throw new NotTrivial(); // kustomize: "empty item at ... in object"
      return v;
    });
  }
  if (isMap(node)) {
    if (node.tag !== undefined) throw new NotTrivial();
    const flow = inFlow || node.flow === true;
    const entries: [string, unknown][] = [];
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isScalar(pair.key) || pair.key.tag !== undefined) throw new NotTrivial();
      const key = String(pair.key.value);
      if (pair.key.type === 'PLAIN' && (scalarValue(pair.key, flow) !== key || key === '<<')) throw new NotTrivial();
      if (seen.has(key)) throw new NotTrivial();
      seen.add(key);
      entries.push([key, toValue(pair.value as Node | null, doc, flow)]);
    }
    entries.sort(([a], [b]) => goYamlKeyCompare(a, b));
    const out: Obj = {};
    for (const [k, v] of entries) out[k] = v;
    return out;
  }
  throw new NotTrivial();
}

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function checkObject(obj: Obj): 'keep' | 'drop' {
  const kind = obj['kind'];
  if (typeof kind !== 'string' || kind === '' || kind.endsWith('List')) throw new NotTrivial();
  const meta = obj['metadata'];
  if (!isObj(meta) || typeof meta['name'] !== 'string' || meta['name'] === '') throw new NotTrivial();
  for (const field of ['labels', 'annotations']) {
    const m = meta[field];
    if (m === undefined) continue;
    if (!isObj(m)) throw new NotTrivial();
    if (Object.values(m).some((v) => typeof v !== 'string')) throw new NotTrivial();
  }
  const annotations = isObj(meta['annotations']) ? meta['annotations'] : {};
  if (Object.hasOwn(annotations, LOCAL_CONFIG)) return 'drop';
  if (Object.keys(annotations).some((k) => RESERVED_ANNOTATION_PREFIXES.some((p) => k.startsWith(p)))) throw new NotTrivial();
  if (typeof obj['apiVersion'] !== 'string' || obj['apiVersion'] === '') throw new NotTrivial();
  return 'keep';
}

interface Identity {
  readonly group: string;
  readonly version: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

function identityOf(obj: Obj): Identity {
  const apiVersion = String(obj['apiVersion']);
  const slash = apiVersion.indexOf('/');
  const meta = obj['metadata'] as Obj;
  return {
    group: slash >= 0 ? apiVersion.slice(0, slash) : '',
    version: slash >= 0 ? apiVersion.slice(slash + 1) : apiVersion,
    kind: String(obj['kind']),
    namespace: typeof meta['namespace'] === 'string' ? meta['namespace'] : '',
    name: String(meta['name']),
  };
}

const gvkSortString = (i: Identity): string => [i.group || '~G', i.version || '~V', i.kind || '~K'].join('_');
const gvkString = (i: Identity): string => [i.kind || '[noKind]', i.version || '[noVer]', i.group || '[noGrp]'].join('.');
const idSortString = (i: Identity): string => [gvkString(i), i.namespace || '~X', i.name || '~N'].join('|');

/** kustomize's legacy ordering (its SortOrderTransformer default). */
export function legacyCompare(a: Obj, b: Obj): number {
  const ia = identityOf(a);
  const ib = identityOf(b);
  const sameGvk = ia.group === ib.group && ia.version === ib.version && ia.kind === ib.kind;
  if (!sameGvk) {
    const ra = KIND_RANK.get(ia.kind) ?? 0;
    const rb = KIND_RANK.get(ib.kind) ?? 0;
    if (ra !== rb) return ra - rb;
    return byteCompare(gvkSortString(ia), gvkSortString(ib));
  }
  return byteCompare(idSortString(ia), idSortString(ib));
}

/** Returns the objects kustomize would build from `dir`, or undefined when kustomize must run. */
export async function buildInProcess(dir: string): Promise<Obj[] | undefined> {
  let scan;
  try {
    scan = await scanManifests(dir);
  } catch {
    return undefined; // kustomize (or the generator) reports the problem
  }
  if (scan.kustomizationDirs.length > 0) return undefined;
  const objects: Obj[] = [];
  const ids = new Set<string>();
  try {
    for (const file of scan.files) {
      const docs = parseAllDocuments(file.text, { schema: 'failsafe', uniqueKeys: true, prettyErrors: false });
      for (const doc of Array.isArray(docs) ? docs : []) {
        if (doc.errors.length > 0 || doc.warnings.length > 0) return undefined;
        let anchored = false;
        visit(doc, {
          Node(_key, node) {
            if ((node as { anchor?: string }).anchor !== undefined || isAlias(node)) anchored = true;
          },
        });
        if (anchored) return undefined;
        const value = toValue(doc.contents as Node | null, doc);
        if (value === null) continue;
        if (!isObj(value)) return undefined;
        if (Object.keys(value).length === 0) continue;
        if (checkObject(value) === 'drop') continue;
        const id = identityOf(value);
        // kustomize treats an unset and a "default" namespace alike when detecting conflicts.
        const key = `${id.group}/${id.version}/${id.kind}/${id.namespace || 'default'}/${id.name}`;
        if (ids.has(key)) return undefined;
        ids.add(key);
        objects.push(value);
      }
    }
  } catch (e: unknown) {
    if (e instanceof NotTrivial) return undefined;
    throw e;
  }
  return objects.sort(legacyCompare);
}
