import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deletionTiers, sortForApply, stageOf } from './order.ts';

const ref = (apiVersion: string, kind: string, name: string, namespace?: string) => ({ apiVersion, kind, name, namespace });

test('stages: CRDs, Namespaces and ClusterRoles first, then *Class kinds, then the rest', () => {
  assert.equal(stageOf(ref('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'x')), 'definitions');
  assert.equal(stageOf(ref('apiextensions.k8s.io/v1beta1', 'CustomResourceDefinition', 'x')), 'definitions');
  assert.equal(stageOf(ref('v1', 'Namespace', 'x')), 'definitions');
  assert.equal(stageOf(ref('rbac.authorization.k8s.io/v1', 'ClusterRole', 'x')), 'definitions');
  assert.equal(stageOf(ref('rbac.authorization.k8s.io/v1', 'ClusterRoleBinding', 'x')), 'resources');
  assert.equal(stageOf(ref('storage.k8s.io/v1', 'StorageClass', 'x')), 'classes');
  assert.equal(stageOf(ref('networking.k8s.io/v1', 'IngressClass', 'x')), 'classes');
  assert.equal(stageOf(ref('example.com/v1', 'Namespace', 'x')), 'resources');
  assert.equal(stageOf(ref('apps/v1', 'Deployment', 'x', 'ns')), 'resources');
});

test('apply order follows Flux kind order, unknown kinds before webhooks, then namespace and name', () => {
  const sorted = sortForApply([
    ref('admissionregistration.k8s.io/v1', 'ValidatingWebhookConfiguration', 'v'),
    ref('example.com/v1', 'Foo', 'b', 'ns'),
    ref('apps/v1', 'Deployment', 'web', 'b'),
    ref('apps/v1', 'Deployment', 'web', 'a'),
    ref('v1', 'Service', 'web', 'a'),
    ref('v1', 'Namespace', 'a'),
    ref('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'foos.example.com'),
    ref('example.com/v1', 'Foo', 'a', 'ns'),
    ref('v1', 'ServiceAccount', 'sa', 'a'),
  ]);
  assert.deepEqual(
    sorted.map((r) => `${r.kind}/${r.namespace ?? ''}/${r.name}`),
    [
      'CustomResourceDefinition//foos.example.com',
      'Namespace//a',
      'ServiceAccount/a/sa',
      'Service/a/web',
      'Deployment/a/web',
      'Deployment/b/web',
      'Foo/ns/a',
      'Foo/ns/b',
      'ValidatingWebhookConfiguration//v',
    ],
  );
});

test('deletion tiers run in reverse apply order: workloads, then Namespaces, CRDs last', () => {
  const tiers = deletionTiers([
    ref('v1', 'Namespace', 'a'),
    ref('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'foos.example.com'),
    ref('apps/v1', 'Deployment', 'web', 'a'),
    ref('example.com/v1', 'Foo', 'x', 'a'),
    ref('example.com/v1', 'Bar', 'y', 'a'),
    ref('v1', 'ConfigMap', 'cm', 'a'),
  ]);
  assert.deepEqual(
    tiers.map((t) => t.map((r) => r.kind)),
    [['Foo', 'Bar'], ['Deployment'], ['ConfigMap'], ['Namespace'], ['CustomResourceDefinition']],
  );
});
