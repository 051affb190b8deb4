/**
 * Field coverage of the generated CRDs against Flux v2.9's published CRDs
 * (../shared/reference/flux-crds). For every kind Flotilla serves, every field path of
 * Flux's storage version must exist in ours, with the same type, format, enum, default,
 * bounds, pattern, required list and Kubernetes extensions. Descriptions are ours and are
 * not compared; Flux's CEL rules (x-kubernetes-validations) are checked by
 * src/api/spec-rules.ts instead, because Kubernetes 1.20 cannot run them.
 *
 * Pure file reading: no cluster needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { generateCrds, kubernetesExtensionKeys, validationKeys } from '../../src/api/crdgen.ts';
import { apiKinds } from '../../src/api/index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fluxCrdDir = path.resolve(repoRoot, '..', 'shared', 'reference', 'flux-crds');

/** Flux kinds that Flotilla does not serve (yet). */
const outOfScope = new Set(['Bucket', 'ExternalArtifact']);

type Node = Record<string, unknown>;

interface Crd {
  spec: {
    group: string;
    names: { kind: string; plural: string; shortNames?: string[]; categories?: string[] };
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      schema: { openAPIV3Schema: Node };
      additionalPrinterColumns?: Array<Record<string, unknown>>;
      subresources?: Record<string, unknown>;
    }>;
  };
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The properties compared besides the path itself: every keyword crdgen renders but descriptions and structure. */
const comparedKeys = [...validationKeys, 'required', ...kubernetesExtensionKeys] as const;

/** Every field path under spec and status: `spec.ref.branch`, `status.conditions[].reason`, `spec.values`, map values as `.*`. */
function fieldPaths(root: Node): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (node: Node, at: string): void => {
    out.set(at, node);
    const properties = node['properties'];
    if (isNode(properties)) {
      for (const [name, child] of Object.entries(properties)) if (isNode(child)) walk(child, `${at}.${name}`);
    }
    if (isNode(node['items'])) walk(node['items'], `${at}[]`);
    if (isNode(node['additionalProperties'])) walk(node['additionalProperties'], `${at}.*`);
  };
  const properties = root['properties'];
  if (isNode(properties)) {
    for (const top of ['spec', 'status']) {
      const child = properties[top];
      if (isNode(child)) walk(child, top);
    }
  }
  return out;
}

function normalised(key: (typeof comparedKeys)[number], value: unknown): string {
  // Order does not matter for enum and required lists.
  if ((key === 'enum' || key === 'required') && Array.isArray(value)) return JSON.stringify([...value].sort());
  return JSON.stringify(value);
}

function storageSchema(crd: Crd): { version: string; schema: Node } {
  const storage = crd.spec.versions.find((v) => v.storage);
  assert.ok(storage, `${crd.spec.names.kind}: no storage version`);
  return { version: storage.name, schema: storage.schema.openAPIV3Schema };
}

function loadFluxCrds(): Map<string, Crd> {
  const byKind = new Map<string, Crd>();
  for (const file of readdirSync(fluxCrdDir).filter((f) => f.endsWith('.yaml')).sort()) {
    const crd = parse(readFileSync(path.join(fluxCrdDir, file), 'utf8')) as Crd;
    byKind.set(crd.spec.names.kind, crd);
  }
  return byKind;
}

function loadGeneratedCrds(): Map<string, Crd> {
  const byKind = new Map<string, Crd>();
  for (const file of generateCrds()) {
    const crd = parse(file.yaml) as Crd;
    byKind.set(crd.spec.names.kind, crd);
  }
  return byKind;
}

test('generated CRDs cover every field of the Flux v2.9 CRDs', (t) => {
  if (!existsSync(fluxCrdDir)) {
    t.skip(`Flux reference CRDs not found at ${fluxCrdDir}; nothing to compare against`);
    return;
  }
  const flux = loadFluxCrds();
  const ours = loadGeneratedCrds();
  let covered = 0;
  let total = 0;
  const failures: string[] = [];

  for (const [kind, fluxCrd] of flux) {
    if (outOfScope.has(kind)) {
      console.log(`API coverage ${kind}: not served by Flotilla, skipped`);
      continue;
    }
    const ourCrd = ours.get(kind);
    if (ourCrd === undefined) {
      failures.push(`${kind}: no generated CRD`);
      continue;
    }
    const theirs = storageSchema(fluxCrd);
    const mine = storageSchema(ourCrd);
    if (theirs.version !== mine.version) {
      failures.push(`${kind}: storage version ${mine.version}, Flux stores ${theirs.version}`);
    }
    const theirPaths = fieldPaths(theirs.schema);
    const myPaths = fieldPaths(mine.schema);
    const missing: string[] = [];
    const different: string[] = [];
    for (const [fieldPath, theirNode] of theirPaths) {
      const myNode = myPaths.get(fieldPath);
      if (myNode === undefined) {
        missing.push(fieldPath);
        continue;
      }
      for (const key of comparedKeys) {
        const a = normalised(key, theirNode[key]);
        const b = normalised(key, myNode[key]);
        if (a !== b) different.push(`${fieldPath} ${key}: Flux ${a ?? 'unset'}, ours ${b ?? 'unset'}`);
      }
    }
    const found = theirPaths.size - missing.length;
    covered += found;
    total += theirPaths.size;
    const percent = ((100 * found) / theirPaths.size).toFixed(1);
    console.log(`API coverage ${kind}: ${found} of ${theirPaths.size} field paths (${percent}%)`);
    if (missing.length > 0) failures.push(`${kind}: missing field paths:\n    ${missing.join('\n    ')}`);
    if (different.length > 0) failures.push(`${kind}: fields that differ from Flux:\n    ${different.join('\n    ')}`);

    // Names users type and see.
    const fluxNames = fluxCrd.spec.names;
    const ourNames = ourCrd.spec.names;
    if (JSON.stringify(fluxNames.shortNames ?? []) !== JSON.stringify(ourNames.shortNames ?? [])) {
      failures.push(`${kind}: shortNames ${JSON.stringify(ourNames.shortNames)}, Flux ${JSON.stringify(fluxNames.shortNames)}`);
    }
    if (JSON.stringify([...(fluxNames.categories ?? [])].sort()) !== JSON.stringify([...(ourNames.categories ?? [])].sort())) {
      failures.push(`${kind}: categories ${JSON.stringify(ourNames.categories)}, Flux ${JSON.stringify(fluxNames.categories)}`);
    }
    const fluxVersion = fluxCrd.spec.versions.find((v) => v.storage);
    const ourVersion = ourCrd.spec.versions.find((v) => v.storage);
    const columns = (v: typeof fluxVersion) =>
      JSON.stringify((v?.additionalPrinterColumns ?? []).map((c) => [c['name'], c['type'], c['jsonPath'], c['priority'] ?? 0]));
    if (columns(fluxVersion) !== columns(ourVersion)) {
      failures.push(`${kind}: printer columns ${columns(ourVersion)}, Flux ${columns(fluxVersion)}`);
    }
    if (JSON.stringify(fluxVersion?.subresources ?? {}) !== JSON.stringify(ourVersion?.subresources ?? {})) {
      failures.push(`${kind}: subresources ${JSON.stringify(ourVersion?.subresources)}, Flux ${JSON.stringify(fluxVersion?.subresources)}`);
    }
  }

  for (const api of apiKinds) {
    if (!flux.has(api.kind)) failures.push(`${api.kind}: served by Flotilla but absent from the Flux reference CRDs`);
  }

  const percent = total === 0 ? '0.0' : ((100 * covered) / total).toFixed(1);
  console.log(`API coverage: ${covered} of ${total} field paths (${percent}%)`);
  assert.ok(total > 0, 'no field paths found in the Flux CRDs');
  assert.deepEqual(failures, [], `generated CRDs differ from Flux v2.9:\n${failures.join('\n')}`);
});
