import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { requestHandled } from './reconcile.ts';
import { rfc3339, rfc3339Nano, settled, truncateHex } from './status.ts';

function obj(generation: number, status: Record<string, unknown>): KubeObject {
  return { apiVersion: 'x/v1', kind: 'GitRepository', metadata: { name: 'a', generation }, status };
}
const cond = (type: string, status: string, message = '', observedGeneration?: number): Record<string, unknown> => ({
  type, status, reason: 'R', message, ...(observedGeneration !== undefined ? { observedGeneration } : {}),
});

test('settled: waits for the generation, Reconciling; finishes on Ready or Stalled', () => {
  assert.deepEqual(settled(obj(2, {})), { done: false, why: 'no Ready condition yet' });
  assert.equal(settled(obj(2, { observedGeneration: 1, conditions: [cond('Ready', 'True')] })).done, false);
  assert.equal(settled(obj(2, { observedGeneration: 2, conditions: [cond('Ready', 'Unknown', 'working'), cond('Reconciling', 'True')] })).done, false);
  assert.deepEqual(settled(obj(2, { observedGeneration: 2, conditions: [cond('Ready', 'True', 'ok')] })), { done: true, ready: true, message: 'ok', stalled: false });
  assert.deepEqual(settled(obj(2, { observedGeneration: 2, conditions: [cond('Ready', 'False', 'bad url'), cond('Stalled', 'True', 'bad url')] })), {
    done: true, ready: false, message: 'bad url', stalled: true,
  });
  // a per-condition observedGeneration is enough when the status-level one is missing
  assert.equal(settled(obj(3, { conditions: [cond('Ready', 'False', 'x', 3)] })).done, true);
  assert.equal(settled(obj(3, { conditions: [cond('Ready', 'False', 'x', 2)] })).done, false);
});

test('requestHandled: the echo of our request, or a later handled one', () => {
  const at = '2026-01-01T00:00:00.5Z';
  assert.equal(requestHandled(obj(1, {}), at, undefined), false);
  assert.equal(requestHandled(obj(1, { lastHandledReconcileAt: at }), at, undefined), true);
  assert.equal(requestHandled(obj(1, { lastHandledReconcileAt: '2025-12-31T00:00:00Z' }), at, '2025-12-31T00:00:00Z'), false);
  assert.equal(requestHandled(obj(1, { lastHandledReconcileAt: '2026-01-01T00:00:01Z' }), at, '2025-12-31T00:00:00Z'), true);
});

test('formatting helpers', () => {
  assert.equal(truncateHex('main@sha1:696f056df216eea4f9401adbee0ff744d4df390f'), 'main@sha1:696f056d');
  assert.equal(truncateHex('sha256:abc'), 'sha256:abc');
  assert.equal(rfc3339Nano(new Date('2026-01-01T00:00:00.120Z')), '2026-01-01T00:00:00.12Z');
  assert.equal(rfc3339Nano(new Date('2026-01-01T00:00:00.000Z')), '2026-01-01T00:00:00Z');
  assert.equal(rfc3339('2026-01-01T00:00:00.123456Z'), '2026-01-01T00:00:00Z');
  assert.equal(rfc3339(undefined), '');
});
