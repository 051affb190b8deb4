import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { hasDrifted, wasConfigured } from './apply.ts';

const live: KubeObject = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'cm', namespace: 'n', resourceVersion: '7', labels: { a: '1' }, annotations: { b: '2' }, managedFields: [{ manager: 'x' }], uid: 'u' },
  data: { k: 'v' },
};

test('hasDrifted follows Flux: labels, annotations and everything outside metadata and status', () => {
  const same = structuredClone(live);
  same.metadata['managedFields'] = [{ manager: 'y' }];
  same['status'] = { anything: true };
  assert.equal(hasDrifted(live, same), false, 'managedFields and status do not count');
  assert.equal(hasDrifted(live, { ...same, data: { k: 'w' } }), true);
  assert.equal(hasDrifted(live, { ...same, metadata: { ...same.metadata, labels: { a: '2' } } }), true);
  assert.equal(hasDrifted(live, { ...same, metadata: { ...same.metadata, annotations: {} } }), true);
  assert.equal(hasDrifted(live, { ...same, metadata: { ...same.metadata, resourceVersion: '8' } }), false, 'a status write in between is not drift');
  const reordered: KubeObject = { data: { k: 'v' }, kind: 'ConfigMap', apiVersion: 'v1', metadata: same.metadata };
  assert.equal(hasDrifted(live, reordered), false, 'key order does not matter');
});

test('wasConfigured: same version is unchanged; a status-only write keeps generation and metadata', () => {
  const before: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', resourceVersion: '5', generation: 2, labels: { a: '1' } } };
  assert.equal(wasConfigured(before, before), false);
  assert.equal(wasConfigured(before, { ...before, metadata: { ...before.metadata, resourceVersion: '6' } }), false);
  assert.equal(wasConfigured(before, { ...before, metadata: { ...before.metadata, resourceVersion: '6', generation: 3 } }), true);
  assert.equal(wasConfigured(before, { ...before, metadata: { ...before.metadata, resourceVersion: '6', labels: { a: '2' } } }), true);
  const cm: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', resourceVersion: '5' } };
  assert.equal(wasConfigured(cm, { ...cm, metadata: { ...cm.metadata, resourceVersion: '6' } }), true, 'without generation, any write counts');
});
