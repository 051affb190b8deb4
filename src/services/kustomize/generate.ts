import { lstat, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isMap, isSeq, parseAllDocuments, parseDocument, YAMLMap, YAMLSeq, type Document } from 'yaml';
import { StallingError } from '../../runtime/errors.ts';

/**
 * The kustomization.yaml Flux's kustomize-controller builds from: the one in the directory
 * or, when there is none, one listing every YAML manifest below it; then the Kustomization
 * spec's overrides written into it (targetNamespace, namePrefix, nameSuffix, patches,
 * components, images, buildMetadata), as fluxcd/pkg/kustomize's generator does.
 * `commonMetadata` is not part of it: Flux applies it to the built objects
 * (see applyCommonMetadata).
 */

export const KUSTOMIZATION_FILE_NAMES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;
export const BUILD_FAILED_REASON = 'BuildFailed';

export interface PatchSelector {
  readonly group?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly annotationSelector?: string;
}

export interface KustomizePatch {
  readonly patch: string;
  readonly target?: PatchSelector;
}

export interface KustomizeImage {
  readonly name: string;
  readonly newName?: string;
  readonly newTag?: string;
  readonly digest?: string;
}

/** The Kustomization spec fields that end up in kustomization.yaml. */
export interface KustomizeOverrides {
  readonly targetNamespace?: string;
  readonly namePrefix?: string;
  readonly nameSuffix?: string;
  readonly patches?: readonly KustomizePatch[];
  readonly images?: readonly KustomizeImage[];
  readonly components?: readonly string[];
  readonly ignoreMissingComponents?: boolean;
  readonly buildMetadata?: readonly string[];
}

export interface GenerateResult {
  /** 'created' when no kustomization file existed and one was written. */
  readonly action: 'created' | 'unchanged';
  /** The kustomization file written. */
  readonly file: string;
}

/** True when the overrides would change nothing (the in-process fast path needs this). */
export function hasOverrides(o: KustomizeOverrides | undefined): boolean {
  if (!o) return false;
  return Boolean(
    o.targetNamespace || o.namePrefix || o.nameSuffix || o.patches?.length || o.images?.length || o.components?.length || o.buildMetadata?.length,
  );
}

export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILE_NAMES) {
    const st = await stat(path.join(dir, name)).catch(() => undefined);
    if (st && !st.isDirectory()) return path.join(dir, name);
  }
  return undefined;
}

/** kustomize's test for a local path (its remote prefixes, minus file://). */
export function isLocalRelativePath(p: string): boolean {
  const lower = p.toLowerCase();
  for (const prefix of ['git::', 'gh:', 'ssh://', 'https://', 'http://', 'git@', 'github.com:', 'github.com/']) {
    if (prefix.length < p.length && lower.startsWith(prefix)) return false;
  }
  return !path.isAbsolute(p) && !path.isAbsolute(lower.replace(/^file:\/\//, ''));
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export interface ManifestScan {
  /** Resource entries in Go filepath.Walk order: `./a.yaml`, `./sub` (a dir with its own kustomization). */
  readonly resources: readonly string[];
  /** Files whose documents were read (for the in-process build). */
  readonly files: readonly { readonly rel: string; readonly text: string }[];
  /** Subdirectories with their own kustomization file. */
  readonly kustomizationDirs: readonly string[];
}

function decodeFailure(rel: string, why: string): StallingError {
  return new StallingError(BUILD_FAILED_REASON, `failed to decode Kubernetes YAML from ${rel}: ${why}`);
}

/** Checks a manifest file as kustomize's resource factory would before listing it. */
function validateManifest(rel: string, text: string): void {
  const docs = parseAllDocuments(text, { schema: 'core', prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) throw decodeFailure(rel, err.message.split('\n')[0] ?? 'invalid YAML');
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw decodeFailure(rel, 'a document is not a mapping');
    const obj = value as Record<string, unknown>;
    if (Object.keys(obj).length === 0) continue;
    const kind = obj['kind'];
    if (typeof kind !== 'string' || kind === '') throw decodeFailure(rel, 'missing kind in object');
    if (kind.endsWith('List')) continue;
    const meta = obj['metadata'];
    const name = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>)['name'] : undefined;
    if (typeof name !== 'string' || name === '') throw decodeFailure(rel, 'missing metadata.name in object');
  }
}

/**
 * Lists manifests as Flux's generator does: a depth-first walk in lexical order; a
 * subdirectory with its own kustomization file is listed as a directory and not entered;
 * every `.yaml`/`.yml` file is parsed and must hold Kubernetes objects.
 */
export async function scanManifests(dir: string): Promise<ManifestScan> {
  const resources: string[] = [];
  const files: { rel: string; text: string }[] = [];
  const kustomizationDirs: string[] = [];
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await readdir(abs)).sort(byteOrder);
    for (const name of names) {
      const childAbs = path.join(abs, name);
      const childRel = rel === '.' ? `./${name}` : `${rel}/${name}`;
      const st = await lstat(childAbs);
      if (st.isDirectory()) {
        if (await findKustomizationFile(childAbs)) {
          resources.push(childRel);
          kustomizationDirs.push(childRel);
          continue;
        }
        await walk(childAbs, childRel);
        continue;
      }
      const ext = path.extname(name);
      if (ext !== '.yaml' && ext !== '.yml') continue;
      const text = await readFile(childAbs, 'utf8');
      validateManifest(childRel.slice(2), text);
      resources.push(childRel);
      files.push({ rel: childRel, text });
    }
  };
  await walk(dir, '.');
  return { resources, files, kustomizationDirs };
}

function ensureSeq(doc: Document, key: string): YAMLSeq {
  const current = doc.get(key, true);
  if (isSeq(current)) return current;
  const seq = new YAMLSeq();
  doc.set(key, seq);
  return seq;
}

function compact<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/** Writes the spec overrides into a parsed kustomization, as Flux's generator does. */
async function applyOverrides(doc: Document, dir: string, overrides: KustomizeOverrides): Promise<void> {
  if (overrides.targetNamespace) doc.set('namespace', overrides.targetNamespace);
  if (overrides.namePrefix) doc.set('namePrefix', overrides.namePrefix);
  if (overrides.nameSuffix) doc.set('nameSuffix', overrides.nameSuffix);
  for (const p of overrides.patches ?? []) {
    const entry: Record<string, unknown> = { patch: p.patch };
    if (p.target) entry['target'] = compact(p.target);
    ensureSeq(doc, 'patches').add(doc.createNode(entry));
  }
  for (const component of overrides.components ?? []) {
    if (!isLocalRelativePath(component)) {
      throw new StallingError(BUILD_FAILED_REASON, `component path '${component}' must be local and relative`);
    }
    if (overrides.ignoreMissingComponents && !(await stat(path.join(dir, component)).catch(() => undefined))) continue;
    ensureSeq(doc, 'components').add(doc.createNode(component));
  }
  for (const image of overrides.images ?? []) {
    const images = ensureSeq(doc, 'images');
    const existing = images.items.find((it) => isMap(it) && it.get('name') === image.name) as YAMLMap | undefined;
    if (existing) {
      // Flux merges into an existing entry; tag and digest replace each other as a unit.
      if (image.newName) existing.set('newName', image.newName);
      if (image.newTag || image.digest) {
        if (image.newTag) existing.set('newTag', image.newTag);
        else existing.delete('newTag');
        if (image.digest) existing.set('digest', image.digest);
        else existing.delete('digest');
      }
    } else {
      images.add(doc.createNode(compact({ name: image.name, newName: image.newName, newTag: image.newTag, digest: image.digest })));
    }
  }
  if (overrides.buildMetadata?.length) doc.set('buildMetadata', doc.createNode([...overrides.buildMetadata]));
}

/**
 * Makes `dir` buildable the way Flux does and writes the result to disk: it edits or
 * creates the kustomization file in place, so `dir` must be inside a per-reconcile copy.
 */
export async function generateKustomization(dir: string, overrides: KustomizeOverrides = {}): Promise<GenerateResult> {
  const existing = await findKustomizationFile(dir);
  let doc: Document;
  let action: GenerateResult['action'];
  let file: string;
  if (existing) {
    action = 'unchanged';
    file = existing;
    doc = parseDocument(await readFile(existing, 'utf8'));
    if (doc.errors.length > 0) {
      throw new StallingError(BUILD_FAILED_REASON, `invalid ${path.basename(existing)}: ${doc.errors[0]?.message.split('\n')[0] ?? ''}`);
    }
    if (doc.contents === null) doc.contents = doc.createNode({}) as YAMLMap;
    if (!isMap(doc.contents)) throw new StallingError(BUILD_FAILED_REASON, `invalid ${path.basename(existing)}: not a mapping`);
    if (!doc.has('apiVersion')) doc.set('apiVersion', 'kustomize.config.k8s.io/v1beta1');
    if (!doc.has('kind')) doc.set('kind', 'Kustomization');
    const resources = doc.get('resources');
    if (!isSeq(resources) || resources.items.length === 0) {
      // Flux sets this so that a kustomization with only generators is not "empty".
      doc.set('buildMetadata', doc.createNode(['originAnnotations']));
    }
  } else {
    action = 'created';
    file = path.join(dir, 'kustomization.yaml');
    const scan = await scanManifests(dir);
    const body: Record<string, unknown> = { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization' };
    // A placeholder namespace keeps kustomize from rejecting an empty kustomization.
    if (scan.resources.length === 0) body['namespace'] = '_placeholder';
    else body['resources'] = [...scan.resources];
    doc = parseDocument('{}');
    doc.contents = doc.createNode(body) as YAMLMap;
  }
  await applyOverrides(doc, dir, overrides);
  await writeFile(file, doc.toString({ lineWidth: 0 }));
  return { action, file };
}
