import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { anyInMetadata, normalizeForApply } from './normalize.ts';

const podSpec = () => ({
  containers: [{ name: 'app', image: 'nginx', ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }] }],
  initContainers: [{ name: 'init', image: 'busybox', ports: [{ containerPort: 9000 }] }],
});

function protocols(spec: unknown): string[] {
  const s = spec as { containers: Array<{ ports: Array<{ protocol?: string }> }>; initContainers: Array<{ ports: Array<{ protocol?: string }> }> };
  return [...s.containers, ...s.initContainers].flatMap((c) => c.ports.map((p) => p.protocol ?? '<none>'));
}

const workloads: Array<[string, string, (spec: unknown) => Record<string, unknown>, (o: KubeObject) => unknown]> = [
  ['apps/v1', 'Deployment', (s) => ({ spec: { template: { spec: s } } }), (o) => (o['spec'] as { template: { spec: unknown } }).template.spec],
  ['apps/v1', 'StatefulSet', (s) => ({ spec: { template: { spec: s } } }), (o) => (o['spec'] as { template: { spec: unknown } }).template.spec],
  ['apps/v1', 'DaemonSet', (s) => ({ spec: { template: { spec: s } } }), (o) => (o['spec'] as { template: { spec: unknown } }).template.spec],
  ['apps/v1', 'ReplicaSet', (s) => ({ spec: { template: { spec: s } } }), (o) => (o['spec'] as { template: { spec: unknown } }).template.spec],
  ['batch/v1', 'Job', (s) => ({ spec: { template: { spec: s } } }), (o) => (o['spec'] as { template: { spec: unknown } }).template.spec],
  [
    'batch/v1beta1',
    'CronJob',
    (s) => ({ spec: { jobTemplate: { spec: { template: { spec: s } } } } }),
    (o) => (o['spec'] as { jobTemplate: { spec: { template: { spec: unknown } } } }).jobTemplate.spec.template.spec,
  ],
  ['v1', 'Pod', (s) => ({ spec: s }), (o) => o['spec']],
];

for (const [apiVersion, kind, wrap, unwrap] of workloads) {
  test(`${kind}: container ports without protocol get TCP, others keep theirs`, () => {
    const obj: KubeObject = { apiVersion, kind, metadata: { name: 'x', namespace: 'ns' }, ...wrap(podSpec()) };
    const out = normalizeForApply(obj);
    assert.deepEqual(protocols(unwrap(out)), ['TCP', 'UDP', 'TCP']);
    assert.deepEqual(protocols(unwrap(obj)), ['<none>', 'UDP', '<none>'], 'the input is not mutated');
  });
}

test('Service ports without protocol get TCP', () => {
  const out = normalizeForApply({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's', namespace: 'n' }, spec: { ports: [{ port: 80 }, { port: 53, protocol: 'UDP' }] } });
  assert.deepEqual((out['spec'] as { ports: unknown[] }).ports, [
    { port: 80, protocol: 'TCP' },
    { port: 53, protocol: 'UDP' },
  ]);
});

test('kinds without pod templates are left alone', () => {
  const obj: KubeObject = { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'c', ports: [{ containerPort: 1 }] }] } } } };
  assert.deepEqual(normalizeForApply(obj), obj);
});

test('owner labels are added and win; server fields and status are dropped', () => {
  const out = normalizeForApply(
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm', namespace: 'n', labels: { app: 'x', 'kustomize.toolkit.fluxcd.io/name': 'forged' }, creationTimestamp: null as unknown as string, resourceVersion: '5', uid: 'u' },
      data: { a: '1' },
      status: { x: 1 },
    },
    { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' },
  );
  assert.deepEqual(out, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'n', labels: { app: 'x', 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' } },
    data: { a: '1' },
  });
});

test('Secret stringData is folded into base64 data', () => {
  const out = normalizeForApply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'n' }, data: { a: 'YQ==' }, stringData: { b: 'héllo', a: 'override' } });
  assert.deepEqual(out['data'], { a: Buffer.from('override').toString('base64'), b: Buffer.from('héllo').toString('base64') });
  assert.equal(out['stringData'], undefined);
});

test('anyInMetadata matches labels or annotations, ignoring case of the value', () => {
  const o = { metadata: { labels: { 'kustomize.toolkit.fluxcd.io/prune': 'Disabled' }, annotations: { 'kustomize.toolkit.fluxcd.io/ssa': 'ifnotpresent' } } };
  assert.equal(anyInMetadata(o, { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' }), true);
  assert.equal(anyInMetadata(o, { 'kustomize.toolkit.fluxcd.io/ssa': 'IfNotPresent' }), true);
  assert.equal(anyInMetadata(o, { 'kustomize.toolkit.fluxcd.io/ssa': 'Ignore' }), false);
  assert.equal(anyInMetadata(undefined, { a: 'b' }), false);
});
