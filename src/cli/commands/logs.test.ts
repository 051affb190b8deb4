import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { formatLogEntry, matchesFilter, parseLogLine, type LogFilter } from './logs.ts';
import { runFlotilla } from './testing.ts';

const line = (o: Record<string, unknown>): string => JSON.stringify(o);

const LINES = [
  line({ level: 'info', ts: '2026-01-02T10:00:00.000Z', controllerKind: 'GitRepository', name: 'podinfo', namespace: 'default', msg: 'stored artifact' }),
  line({ level: 'error', ts: '2026-01-02T10:00:01.000Z', controllerKind: 'Kustomization', name: 'apps', namespace: 'flux-system', msg: 'reconciliation failed', err: 'dry-run failed' }),
  line({ level: 'info', ts: '2026-01-02T10:00:02.000Z', controllerKind: 'Kustomization', name: 'podinfo', namespace: 'flux-system', msg: 'applied' }),
  line({ level: 'info', ts: '2026-01-02T10:00:03.000Z', msg: 'flotilla operator started' }),
  'not json at all',
  line({ level: 50, ts: '2026-01-02T10:00:04.000Z', 'reconciler kind': 'GitRepository', name: 'podinfo', namespace: 'flux-system', msg: 'clone failed', err: { message: 'auth required' } }),
];

const ALL: LogFilter = { level: undefined, kind: undefined, name: undefined, namespace: undefined, sinceMs: undefined };
const now = new Date('2026-01-02T10:01:00Z');

test('log lines are parsed from Flotilla and Flux key names', () => {
  const e = parseLogLine(LINES[5] as string);
  assert.deepEqual(e, { ts: '2026-01-02T10:00:04.000Z', level: 'error', msg: 'clone failed', error: 'auth required', kind: 'GitRepository', name: 'podinfo', namespace: 'flux-system' });
  assert.equal(parseLogLine('not json at all'), undefined);
  assert.equal(formatLogEntry(e as NonNullable<typeof e>), '2026-01-02T10:00:04.000Z error GitRepository/podinfo.flux-system - clone failed auth required');
  const plain = parseLogLine(LINES[3] as string);
  assert.equal(formatLogEntry(plain as NonNullable<typeof plain>), '2026-01-02T10:00:03.000Z info  - flotilla operator started');
});

test('filters: level, kind and name case-insensitively, namespace, since', () => {
  const entries = LINES.map(parseLogLine).filter((e) => e !== undefined);
  const pick = (f: Partial<LogFilter>): string[] => entries.filter((e) => matchesFilter(e, { ...ALL, ...f }, now)).map((e) => e.msg);
  assert.deepEqual(pick({ level: 'error' }), ['reconciliation failed', 'clone failed']);
  assert.deepEqual(pick({ kind: 'kustomization' }), ['reconciliation failed', 'applied']);
  assert.deepEqual(pick({ kind: 'Kustomization', name: 'PODINFO', namespace: 'flux-system' }), ['applied']);
  assert.deepEqual(pick({ namespace: 'default' }), ['stored artifact']);
  assert.deepEqual(pick({ sinceMs: 58_000 }), ['applied', 'flotilla operator started', 'clone failed']);
});

test('flotilla logs --log-file: filtered, --tail, and --follow until --timeout', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flotilla-logs-'));
  try {
    const file = path.join(dir, 'operator.log');
    await writeFile(file, LINES.join('\n') + '\n');
    let r = await runFlotilla(['logs', '--log-file', file, '-A', '--level', 'error']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      '2026-01-02T10:00:01.000Z error Kustomization/apps.flux-system - reconciliation failed dry-run failed\n' +
        '2026-01-02T10:00:04.000Z error GitRepository/podinfo.flux-system - clone failed auth required\n',
    );
    r = await runFlotilla(['logs', '--log-file', file, '--kind', 'Kustomization']);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split(' - ')[1]), ['reconciliation failed dry-run failed', 'applied']);
    r = await runFlotilla(['logs', '--log-file', file, '-A', '--tail', '2']);
    assert.equal(r.stdout.trim().split('\n').length, 1, 'the last two lines hold one JSON entry');

    const started = Date.now();
    const following = runFlotilla(['logs', '--log-file', file, '-A', '--follow', '--tail', '0', '--timeout', '1500ms']);
    await new Promise((res) => setTimeout(res, 500));
    await appendFile(file, line({ level: 'info', ts: '2026-01-02T10:00:09.000Z', controllerKind: 'HelmRelease', name: 'web', namespace: 'apps', msg: 'upgraded' }) + '\n');
    r = await following;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - started >= 1400, '--follow ends at --timeout');
    assert.equal(r.stdout, '2026-01-02T10:00:09.000Z info HelmRelease/web.apps - upgraded\n');

    r = await runFlotilla(['logs', '--log-file', path.join(dir, 'missing.log')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^✗ log file .*missing\.log does not exist\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
