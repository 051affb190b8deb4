import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Type } from '@sinclair/typebox';
import { parse } from 'yaml';
import { crdKustomization, generateCrds, toStructuralSchema } from './crdgen.ts';
import type { JsonSchemaProps } from './crdgen.ts';
import { apiKinds } from './index.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Version {
  name: string;
  served: boolean;
  storage: boolean;
  deprecated?: boolean;
  schema: { openAPIV3Schema: JsonSchemaProps };
  subresources?: Record<string, unknown>;
  additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string }>;
}
interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    conversion: { strategy: string };
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames?: string[]; categories: string[] };
    versions: Version[];
  };
}

const crds = new Map<string, Crd>(
  generateCrds().map((f) => {
    const crd = parse(f.yaml) as Crd;
    return [crd.spec.names.kind, crd];
  }),
);

function crdOf(kind: string): Crd {
  const crd = crds.get(kind);
  assert.ok(crd, `no CRD for ${kind}`);
  return crd;
}

function version(kind: string, name?: string): Version {
  const crd = crdOf(kind);
  const found = crd.spec.versions.find((v) => (name === undefined ? v.storage : v.name === name));
  assert.ok(found, `${kind}: no version ${name ?? '(storage)'}`);
  return found;
}

/** The schema node at a dotted path such as `spec.ref.branch` or `status.conditions[].reason`. */
function node(kind: string, fieldPath: string, versionName?: string): JsonSchemaProps {
  let current: JsonSchemaProps = version(kind, versionName).schema.openAPIV3Schema;
  for (const segment of fieldPath.split('.')) {
    const isList = segment.endsWith('[]');
    const properties = current['properties'] as Record<string, JsonSchemaProps> | undefined;
    const next = properties?.[isList ? segment.slice(0, -2) : segment];
    assert.ok(next, `${kind}: no field ${fieldPath} (stopped at ${segment})`);
    current = isList ? (next['items'] as JsonSchemaProps) : next;
  }
  return current;
}

/** Every schema node of a version, with its path. */
function* schemaNodes(schema: JsonSchemaProps, at = ''): Generator<[string, JsonSchemaProps]> {
  yield [at || '<root>', schema];
  const properties = schema['properties'] as Record<string, JsonSchemaProps> | undefined;
  for (const [name, child] of Object.entries(properties ?? {})) yield* schemaNodes(child, at ? `${at}.${name}` : name);
  if (typeof schema['items'] === 'object') yield* schemaNodes(schema['items'] as JsonSchemaProps, `${at}[]`);
  if (typeof schema['additionalProperties'] === 'object') {
    yield* schemaNodes(schema['additionalProperties'] as JsonSchemaProps, `${at}.*`);
  }
}

test('every kind in the registry produces a CRD named and shaped like Flux', () => {
  assert.equal(crds.size, apiKinds.length);
  for (const api of apiKinds) {
    const crd = crdOf(api.kind);
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(crd.kind, 'CustomResourceDefinition');
    assert.equal(crd.metadata.name, `${api.plural}.${api.group}`);
    assert.equal(crd.spec.group, api.group);
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.equal(crd.spec.conversion.strategy, 'None');
    assert.deepEqual(crd.spec.names, {
      kind: api.kind,
      listKind: `${api.kind}List`,
      plural: api.plural,
      singular: api.kind.toLowerCase(),
      ...(api.shortNames.length > 0 ? { shortNames: [...api.shortNames] } : {}),
      categories: [...api.categories],
    });
    const storage = crd.spec.versions.filter((v) => v.storage);
    assert.deepEqual(
      storage.map((v) => v.name),
      [api.version],
      `${api.kind}: exactly one storage version`,
    );
    for (const v of crd.spec.versions) {
      assert.equal(v.served, true, `${api.kind} ${v.name} is served`);
      assert.equal(v.deprecated === true, !v.storage, `${api.kind} ${v.name}: only older versions are deprecated`);
      const root = v.schema.openAPIV3Schema;
      const rootProperties = root['properties'] as Record<string, JsonSchemaProps>;
      assert.deepEqual(Object.keys(rootProperties), [
        'apiVersion',
        'kind',
        'metadata',
        'spec',
        ...(api.status === undefined ? [] : ['status']),
      ]);
      assert.deepEqual(rootProperties['metadata'], { type: 'object' });
      if (api.status === undefined) assert.equal(v.subresources, undefined);
      else assert.deepEqual(v.subresources, { status: {} });
      assert.ok((v.additionalPrinterColumns ?? []).some((c) => c.name === 'Age' && c.type === 'date'));
    }
  }
});

test('schemas are structural and carry no TypeBox or CEL leftovers', () => {
  for (const crd of crds.values()) {
    for (const v of crd.spec.versions) {
      for (const [at, schema] of schemaNodes(v.schema.openAPIV3Schema)) {
        const where = `${crd.spec.names.kind} ${v.name} ${at}`;
        const freeForm = schema['x-kubernetes-preserve-unknown-fields'] === true || schema['x-kubernetes-int-or-string'] === true;
        assert.ok(typeof schema['type'] === 'string' || freeForm, `${where}: no type`);
        for (const key of ['$id', '$schema', 'const', 'anyOf', 'oneOf', 'allOf', 'patternProperties', 'x-kubernetes-validations']) {
          assert.equal(key in schema, false, `${where}: has ${key}`);
        }
        assert.ok(!('properties' in schema && 'additionalProperties' in schema), `${where}: properties with additionalProperties`);
        if ('properties' in schema || 'additionalProperties' in schema) assert.equal(schema['type'], 'object', where);
        if ('items' in schema) assert.equal(schema['type'], 'array', where);
        if ('enum' in schema) assert.ok(Array.isArray(schema['enum']) && schema['enum'].length > 0, where);
        if ('required' in schema) {
          const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
          for (const name of schema['required'] as string[]) assert.ok(name in properties, `${where}: required ${name} is not a property`);
        }
      }
    }
  }
});

test('defaults, enums, patterns and required fields follow Flux', () => {
  const ref = node('GitRepository', 'spec.ref');
  assert.equal(ref['type'], 'object');
  assert.deepEqual(Object.keys(ref['properties'] as object).sort(), ['branch', 'commit', 'name', 'semver', 'tag']);
  assert.deepEqual(node('GitRepository', 'spec.timeout')['default'], '60s');
  assert.deepEqual(node('GitRepository', 'spec.verify.mode')['enum'], ['head', 'HEAD', 'Tag', 'TagAndHEAD']);
  assert.equal(node('GitRepository', 'spec.verify.mode')['default'], 'HEAD');
  assert.deepEqual(node('GitRepository', 'spec')['required'], ['interval', 'url']);
  assert.deepEqual(node('GitRepository', 'status')['default'], { observedGeneration: -1 });
  assert.equal(node('GitRepository', 'status.artifact.lastUpdateTime')['format'], 'date-time');
  assert.equal(node('GitRepository', 'status.conditions[].observedGeneration')['format'], 'int64');
  assert.deepEqual(node('GitRepository', 'status.conditions[].status')['enum'], ['True', 'False', 'Unknown']);

  const kustomizationSpec = node('Kustomization', 'spec');
  assert.deepEqual([...(kustomizationSpec['required'] as string[])].sort(), ['interval', 'prune', 'sourceRef']);
  assert.equal(node('Kustomization', 'spec.interval')['pattern'], '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$');
  assert.deepEqual(node('Kustomization', 'spec.postBuild.substitute')['additionalProperties'], { type: 'string' });
  assert.equal(node('Kustomization', 'spec.targetNamespace')['maxLength'], 63);

  const values = node('HelmRelease', 'spec.values');
  assert.equal(values['x-kubernetes-preserve-unknown-fields'], true);
  assert.equal(values['type'], undefined, 'values accepts any JSON, as in Flux');
  assert.equal(node('HelmRelease', 'spec.uninstall.deletionPropagation')['default'], 'background');

  assert.deepEqual(node('ImageUpdateAutomation', 'spec.update')['default'], { strategy: 'Setters' });
  assert.equal(node('ImageUpdateAutomation', 'spec.policySelector')['x-kubernetes-map-type'], 'atomic');
  assert.deepEqual(node('ImageRepository', 'spec.exclusionList')['default'], ['^.*\\.sig$']);
  assert.deepEqual(node('Receiver', 'spec.oidcProviders')['x-kubernetes-list-map-keys'], ['issuerURL']);
  assert.equal(node('Receiver', 'spec.interval')['default'], '10m');
  assert.ok((node('Provider', 'spec.type')['enum'] as string[]).includes('incident.io'));
});

test('older versions are served with the storage schema and reject removed fields that still did something', () => {
  const current = version('Kustomization').schema.openAPIV3Schema;
  const v1beta2 = version('Kustomization', 'v1beta2').schema.openAPIV3Schema;
  const spec = (s: JsonSchemaProps) => (s['properties'] as Record<string, JsonSchemaProps>)['spec'] as JsonSchemaProps;
  const specProperties = (s: JsonSchemaProps) => spec(s)['properties'] as Record<string, JsonSchemaProps>;
  assert.equal(specProperties(current)['patchesStrategicMerge'], undefined);
  assert.equal(specProperties(v1beta2)['patchesStrategicMerge']?.['maxItems'], 0);
  assert.equal(specProperties(v1beta2)['patchesJson6902']?.['maxItems'], 0);
  // Apart from the removed fields, the older schema is the storage schema.
  // A field that had stopped doing anything is still accepted (and pruned when stored).
  assert.deepEqual(specProperties(v1beta2)['validation']?.['enum'], ['none', 'client', 'server']);
  assert.equal(specProperties(v1beta2)['validation']?.['maxLength'], undefined);
  // Apart from the removed fields, the older schema is the storage schema.
  const { patchesStrategicMerge: _a, patchesJson6902: _b, validation: _c, ...rest } = specProperties(v1beta2);
  assert.deepEqual(rest, specProperties(current));

  assert.equal(node('HelmRelease', 'spec.chart.spec.valuesFile', 'v2beta1')['maxLength'], 0);
  assert.equal(node('HelmRelease', 'spec.postRenderers[].kustomize.patchesJson6902', 'v2beta2')['maxItems'], 0);
  assert.equal(node('HelmChart', 'spec.valuesFile', 'v1beta2')['maxLength'], 0);
  assert.equal(node('HelmChart', 'spec.accessFrom', 'v1beta2')['type'], 'object');
  assert.equal(node('GitRepository', 'spec.gitImplementation', 'v1beta1')['type'], 'string');

  const served = (kind: string) => crdOf(kind).spec.versions.map((v) => v.name);
  assert.deepEqual(served('GitRepository'), ['v1', 'v1beta1', 'v1beta2']);
  assert.deepEqual(served('HelmRelease'), ['v2', 'v2beta1', 'v2beta2']);
  assert.deepEqual(served('ImagePolicy'), ['v1', 'v1beta1', 'v1beta2']);
  assert.deepEqual(served('Alert'), ['v1beta3', 'v1beta1', 'v1beta2']);
});

test('toStructuralSchema rejects what a structural schema cannot express', () => {
  assert.throws(() => toStructuralSchema(Type.Union([Type.String(), Type.Number()])), /unions of string literals/);
  assert.throws(() => toStructuralSchema(Type.Object({ anything: Type.Unknown() })), /anything: a structural schema needs a type/);
  assert.deepEqual(toStructuralSchema(Type.Object({ m: Type.Record(Type.String(), Type.Integer()) }, { $id: 'X' })), {
    type: 'object',
    properties: { m: { type: 'object', additionalProperties: { type: 'integer' } } },
    required: ['m'],
  });
});

test('the kustomization lists every CRD file and crds/ matches the definitions', async () => {
  const files = generateCrds();
  assert.deepEqual(
    files.map((f) => f.fileName),
    apiKinds.map((api) => `${api.group}_${api.plural}.yaml`),
  );
  const kustomization = parse(crdKustomization(files).yaml) as { resources: string[] };
  assert.deepEqual(kustomization.resources, files.map((f) => f.fileName));
  for (const file of [...files, crdKustomization(files)]) {
    const onDisk = readFileSync(path.join(repoRoot, 'crds', file.fileName), 'utf8');
    assert.equal(onDisk, file.yaml, `crds/${file.fileName} is stale: run node --import tsx src/api/write-crds.ts`);
  }
  const run = promisify(execFile);
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'src/api/write-crds.ts', '--check'], {
    cwd: repoRoot,
    timeout: 60_000,
  });
  assert.match(stdout, /up to date/);
});
