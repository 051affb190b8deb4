import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { eventRow, eventTime, humanDuration, keepEvent, lastSeen } from './events.ts';
import { renderTable } from './table.ts';
import { eventHeader } from './events.ts';

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

test('humanDuration follows apimachinery', () => {
  const cases: Array<[number, string]> = [
    [-5 * S, '<invalid>'],
    [-1 * S, '0s'],
    [0, '0s'],
    [45 * S, '45s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [3 * M + 20 * S, '3m20s'],
    [15 * M, '15m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [5 * H + 30 * M, '5h30m'],
    [30 * H, '30h'],
    [3 * D + 4 * H, '3d4h'],
    [4 * D, '4d'],
    [100 * D, '100d'],
    [800 * D, '2y70d'],
    [9 * 365 * D, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, String(ms));
});

function event(name: string, o: { last: string; first?: string; count?: number; kind?: string; type?: string; reason?: string; message?: string }): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name, namespace: 'flux-system' },
    involvedObject: { kind: o.kind ?? 'GitRepository', name: 'podinfo', namespace: 'flux-system' },
    type: o.type ?? 'Normal',
    reason: o.reason ?? 'NewArtifact',
    message: o.message ?? 'stored artifact',
    firstTimestamp: o.first ?? o.last,
    lastTimestamp: o.last,
    count: o.count ?? 1,
  };
}

test('LAST SEEN shows repeats like kubectl; rows carry kind/name', () => {
  const now = new Date('2026-01-01T00:10:00Z');
  const once = event('a', { last: '2026-01-01T00:09:30Z' });
  const many = event('b', { first: '2026-01-01T00:00:00Z', last: '2026-01-01T00:09:00Z', count: 4 });
  assert.equal(lastSeen(once, now), '30s');
  assert.equal(lastSeen(many, now), '60s (x4 over 10m)');
  assert.deepEqual(eventRow(once, false, now), ['30s', 'Normal', 'NewArtifact', 'GitRepository/podinfo', 'stored artifact']);
  assert.deepEqual(eventRow(once, true, now)[0], 'flux-system');
  assert.equal(
    renderTable(eventHeader(false), [eventRow(once, false, now)]),
    'LAST SEEN\tTYPE  \tREASON     \tOBJECT               \tMESSAGE         \n30s      \tNormal\tNewArtifact\tGitRepository/podinfo\tstored artifact\t\n',
  );
});

test('events sort by their last time; only Flux kinds and the asked types are kept', () => {
  const e1 = event('a', { last: '2026-01-01T00:05:00Z' });
  const e2 = event('b', { last: '2026-01-01T00:01:00Z' });
  assert.deepEqual([e1, e2].sort((x, y) => eventTime(x) - eventTime(y)).map((e) => e.metadata.name), ['b', 'a']);
  assert.equal(keepEvent(event('p', { last: '2026-01-01T00:00:00Z', kind: 'Pod' }), []), false);
  assert.equal(keepEvent(event('k', { last: '2026-01-01T00:00:00Z', kind: 'Kustomization', type: 'Warning' }), ['warning']), true);
  assert.equal(keepEvent(event('k', { last: '2026-01-01T00:00:00Z', kind: 'Kustomization' }), ['Warning']), false);
  assert.equal(keepEvent(event('b', { last: '2026-01-01T00:00:00Z', kind: 'Bucket' }), []), true);
});
