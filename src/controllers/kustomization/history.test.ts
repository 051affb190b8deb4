import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HISTORY_MAX, upsertHistory, type Snapshot } from './history.ts';

const at = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));

test('a new digest goes in front; the same digest and status counts up and moves to the front', () => {
  let h: Snapshot[] = upsertHistory(undefined, { digest: 'sha256:a', at: at(1), durationMs: 1500, status: 'ReconciliationSucceeded', metadata: { revision: 'main@sha1:1' } });
  assert.deepEqual(h, [
    {
      digest: 'sha256:a',
      firstReconciled: '2026-01-01T00:00:01Z',
      lastReconciled: '2026-01-01T00:00:01Z',
      lastReconciledDuration: '1.5s',
      lastReconciledStatus: 'ReconciliationSucceeded',
      totalReconciliations: 1,
      metadata: { revision: 'main@sha1:1' },
    },
  ]);
  h = upsertHistory(h, { digest: 'sha256:b', at: at(2), durationMs: 20, status: 'HealthCheckFailed', metadata: { revision: 'main@sha1:2' } });
  h = upsertHistory(h, { digest: 'sha256:a', at: at(3), durationMs: 250, status: 'ReconciliationSucceeded', metadata: { revision: 'main@sha1:1' } });
  assert.deepEqual(h.map((s) => [s.digest, s.lastReconciledStatus, s.totalReconciliations]), [
    ['sha256:a', 'ReconciliationSucceeded', 2],
    ['sha256:b', 'HealthCheckFailed', 1],
  ]);
  assert.equal(h[0]?.firstReconciled, '2026-01-01T00:00:01Z');
  assert.equal(h[0]?.lastReconciled, '2026-01-01T00:00:03Z');
  assert.equal(h[0]?.lastReconciledDuration, '250ms');
  // same digest, other status: a separate snapshot
  h = upsertHistory(h, { digest: 'sha256:b', at: at(4), durationMs: 10, status: 'ReconciliationSucceeded', metadata: {} });
  assert.equal(h.length, 3);
});

test('keeps the five most recent snapshots', () => {
  let h: Snapshot[] = [];
  for (let i = 0; i < 8; i++) h = upsertHistory(h, { digest: `sha256:${i}`, at: at(i), durationMs: 1, status: 'ReconciliationSucceeded', metadata: {} });
  assert.equal(h.length, HISTORY_MAX);
  assert.deepEqual(h.map((s) => s.digest), ['sha256:7', 'sha256:6', 'sha256:5', 'sha256:4', 'sha256:3']);
});
