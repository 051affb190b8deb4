/**
 * `flotilla events` against a real API server: Events of Flux objects only, oldest first,
 * `--for` with the events of the object's source, and `--watch` ending at `--timeout`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../../src/runtime/client/client.ts';
import { runFlotilla } from '../../src/cli/commands/testing.ts';
import { useCluster } from '../harness/cluster.ts';

const cluster = useCluster();
const kube = (): string[] => ['--kubeconfig', cluster.get().kubeconfigPath];

let seq = 0;
async function event(client: KubeClient, namespace: string, o: { kind: string; name: string; reason: string; message: string; type?: string; agoMs: number; count?: number }): Promise<void> {
  const at = new Date(Date.now() - o.agoMs).toISOString().replace(/\.\d+Z$/, 'Z');
  await client.create({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${o.name}.${++seq}`, namespace },
    involvedObject: { apiVersion: 'x/v1', kind: o.kind, name: o.name, namespace },
    reason: o.reason,
    message: o.message,
    type: o.type ?? 'Normal',
    source: { component: 'test' },
    firstTimestamp: at,
    lastTimestamp: at,
    count: o.count ?? 1,
  });
}

test('events: Flux objects only, oldest first, Flux columns', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-ev');
  await event(client, ns, { kind: 'Kustomization', name: 'apps', reason: 'ReconciliationSucceeded', message: 'applied revision main@sha1:abc', agoMs: 60_000 });
  await event(client, ns, { kind: 'GitRepository', name: 'repo', reason: 'NewArtifact', message: 'stored artifact', agoMs: 300_000 });
  await event(client, ns, { kind: 'Pod', name: 'web', reason: 'Scheduled', message: 'not a Flux object', agoMs: 120_000 });
  await event(client, ns, { kind: 'GitRepository', name: 'other', reason: 'GitOperationFailed', message: 'auth failed', type: 'Warning', agoMs: 30_000 });

  let r = await runFlotilla(['events', '-n', ns, ...kube()]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^LAST SEEN\tTYPE\s*\tREASON\s*\tOBJECT\s*\tMESSAGE\s*$/);
  const cells = lines.slice(1).map((l) => l.split('\t').map((c) => c.trim()));
  assert.deepEqual(
    cells.map((c) => c.slice(1, 5)),
    [
      ['Normal', 'NewArtifact', 'GitRepository/repo', 'stored artifact'],
      ['Normal', 'ReconciliationSucceeded', 'Kustomization/apps', 'applied revision main@sha1:abc'],
      ['Warning', 'GitOperationFailed', 'GitRepository/other', 'auth failed'],
    ],
  );
  assert.match(cells[0]?.[0] ?? '', /^(29\d|30\d)s$|^5m\d*s?$/);

  r = await runFlotilla(['events', '-n', ns, '--types', 'Warning', ...kube()]);
  assert.equal(r.stdout.trimEnd().split('\n').length, 2);

  r = await runFlotilla(['events', '-n', ns, '--for', 'GitRepository/repo', ...kube()]);
  assert.deepEqual(r.stdout.trimEnd().split('\n').slice(1).map((l) => l.split('\t')[3]?.trim()), ['GitRepository/repo']);

  r = await runFlotilla(['events', '-n', ns, '--for', 'Widget/x', ...kube()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "✗ 'Widget' is not a recognized Flux kind\n");

  const empty = await cluster.get().namespace('cli-ev');
  r = await runFlotilla(['events', '-n', empty, ...kube()]);
  assert.equal(r.code, 0);
  assert.equal(r.stderr, `✗ No events found in ${empty} namespace.\n`);
});

test('events --for a Kustomization includes its source; --watch streams until --timeout', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-ev');
  await client.create({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'apps', namespace: ns },
    spec: { interval: '5m', path: './', prune: true, sourceRef: { kind: 'GitRepository', name: 'repo' } },
  });
  await event(client, ns, { kind: 'Kustomization', name: 'apps', reason: 'ReconciliationSucceeded', message: 'applied', agoMs: 10_000 });
  await event(client, ns, { kind: 'GitRepository', name: 'repo', reason: 'NewArtifact', message: 'stored', agoMs: 20_000 });
  await event(client, ns, { kind: 'GitRepository', name: 'unrelated', reason: 'NewArtifact', message: 'stored', agoMs: 5_000 });
  let r = await runFlotilla(['events', '-n', ns, '--for', 'Kustomization/apps', ...kube()]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trimEnd().split('\n').slice(1).map((l) => l.split('\t')[3]?.trim()), ['GitRepository/repo', 'Kustomization/apps']);

  const started = Date.now();
  const watching = runFlotilla(['events', '-n', ns, '--watch', '--timeout', '3s', ...kube()]);
  await new Promise((res) => setTimeout(res, 1200));
  await event(client, ns, { kind: 'HelmRelease', name: 'web', reason: 'UpgradeSucceeded', message: 'upgraded to 1.2.3', agoMs: 0 });
  r = await watching;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - started >= 2900, 'ends at --timeout');
  const lines = r.stdout.replace(/\n$/, '').split('\n');
  assert.match(lines[0] ?? '', /^LAST SEEN/);
  assert.ok(lines.some((l) => /\tHelmRelease\/web\s*\tupgraded to 1\.2\.3\t$/.test(l)), r.stdout);
  assert.equal(lines.filter((l) => l.startsWith('LAST SEEN')).length, 1);
});
