import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { cleanupPatch, fluxCleanup, mergeFieldsV1 } from './managed-fields.ts';

const fm = 'kustomize-controller';

function live(managedFields: unknown[], meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm', namespace: 'n', managedFields, ...meta } };
}

test('kubectl edit fields are merged into our apply entry; other managers are kept', () => {
  const ours = { manager: fm, operation: 'Apply', apiVersion: 'v1', fieldsV1: { 'f:data': { 'f:a': {} } } };
  const edit = { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'v1', fieldsV1: { 'f:data': { 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:x': {} } } } };
  const other = { manager: 'some-operator', operation: 'Update', apiVersion: 'v1', fieldsV1: { 'f:data': { 'f:c': {} } } };
  const ops = cleanupPatch(live([ours, edit, other]), fm, fluxCleanup(fm));
  assert.deepEqual(ops, [
    {
      op: 'replace',
      path: '/metadata/managedFields',
      value: [other, { ...ours, fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} }, 'f:metadata': { 'f:labels': { 'f:x': {} } } } }],
    },
  ]);
});

test('without an apply entry of ours, the first match is renamed to it', () => {
  const csa = { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'v1', fieldsV1: { 'f:data': { 'f:a': {} } } };
  const ops = cleanupPatch(live([csa], { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }), fm, fluxCleanup(fm));
  assert.deepEqual(ops, [
    { op: 'remove', path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration' },
    { op: 'replace', path: '/metadata/managedFields', value: [{ ...csa, manager: fm, operation: 'Apply' }] },
  ]);
});

test('nothing to do when only our apply manager and foreign managers are present', () => {
  const ours = { manager: fm, operation: 'Apply', fieldsV1: {} };
  const status = { manager: 'kubectl', operation: 'Update', subresource: 'status', fieldsV1: {} };
  const controller = { manager: 'kube-controller-manager', operation: 'Update', fieldsV1: {} };
  assert.deepEqual(cleanupPatch(live([ours, status, controller]), fm, fluxCleanup(fm)), []);
});

test('deprecated Flux v1 label is removed', () => {
  assert.deepEqual(cleanupPatch(live([], { labels: { 'fluxcd.io/sync-gc-mark': 'x', keep: 'y' } }), fm, fluxCleanup(fm)), [{ op: 'remove', path: '/metadata/labels/fluxcd.io~1sync-gc-mark' }]);
});

test('mergeFieldsV1 is a deep union', () => {
  assert.deepEqual(mergeFieldsV1({ 'f:a': { 'f:b': {} }, '.': {} }, { 'f:a': { 'f:c': {} }, 'f:d': {} }), { 'f:a': { 'f:b': {}, 'f:c': {} }, '.': {}, 'f:d': {} });
});
