/**
 * `flotilla get` against a real API server: objects created with a hand-written status,
 * the table compared with the text Flux prints, exit codes, -A, label and status
 * selectors, `get all`, -o json|yaml, and --watch ending at --timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import type { KubeClient } from '../../src/runtime/client/client.ts';
import { readGolden, runFlotilla } from '../../src/cli/commands/testing.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { artifact, condition } from './cli.fake-controller.ts';

const cluster = useCluster();
const SHA = '696f056df216eea4f9401adbee0ff744d4df390f';
const run = randomBytes(3).toString('hex');

async function gitRepository(client: KubeClient, namespace: string, name: string, labels: Record<string, string>, status: Record<string, unknown>): Promise<void> {
  await client.create({
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name, namespace, labels: { 'cli-test': run, ...labels } },
    spec: { url: 'ssh://git@github.com/example/repo', interval: '5m', ref: { branch: 'main' }, secretRef: { name: 'flux-system' } },
  });
  await client.patchStatus({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace, name }, status, 'test');
}

const fetched = (): Record<string, unknown> => ({
  artifact: artifact(`main@sha1:${SHA}`),
  conditions: [condition('Ready', 'True', 'Succeeded', `Fetched revision: main@sha1:${SHA}`)],
});

const kube = (): string[] => ['--kubeconfig', cluster.get().kubeconfigPath];

test('get sources git prints Flux table, with label selectors', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-get');
  await gitRepository(client, ns, 'podinfo', {}, fetched());
  await gitRepository(client, ns, 'podinfo-shard1', { 'sharding.fluxcd.io/key': 'shard1' }, fetched());
  await gitRepository(client, ns, 'podinfo-shard2', { 'sharding.fluxcd.io/key': 'shard2' }, fetched());

  const expected = [
    'NAME          \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              ',
    'podinfo       \tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t',
    'podinfo-shard1\tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t',
    'podinfo-shard2\tmain@sha1:696f056d\tFalse    \tTrue \tFetched revision: main@sha1:696f056d\t',
    '',
  ].join('\n');
  let r = await runFlotilla(['get', 'sources', 'git', '-n', ns, ...kube()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, expected);
  const golden = readGolden('get/get.golden');
  if (golden !== undefined) assert.equal(r.stdout, golden);

  r = await runFlotilla(['get', 'sources', 'git', '-l', 'sharding.fluxcd.io/key=shard1', '-n', ns, ...kube()]);
  assert.equal(r.stdout, readGolden('get/get_label_one.golden') ?? r.stdout);
  assert.equal(r.stdout.split('\n').length, 3);
  r = await runFlotilla(['get', 'sources', 'git', '-l', 'sharding.fluxcd.io/key notin (shard1, shard2)', '-n', ns, ...kube()]);
  assert.match(r.stdout, /^podinfo\t/m);
  assert.doesNotMatch(r.stdout, /shard/);

  // global flags before the command work too
  r = await runFlotilla([...kube(), '-n', ns, 'get', 'source', 'git', 'podinfo']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.split('\n')[1]?.split('\t')[0], 'podinfo');
});

test('get: status selector, -A, not found, get all, -o json|yaml', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-get');
  await gitRepository(client, ns, 'gr-failed', {}, { conditions: [condition('Ready', 'False', 'GitOperationFailed', 'failed to checkout and determine revision')] });
  await gitRepository(client, ns, 'gr-ready', {}, fetched());
  await gitRepository(client, ns, 'gr-unknown', {}, { conditions: [condition('Ready', 'Unknown', 'Progressing', 'reconciliation in progress')] });

  for (const [sel, golden, names] of [
    ['Ready=True', 'get/get_status_ready_true.golden', ['gr-ready']],
    ['ready=false', 'get/get_status_ready_false.golden', ['gr-failed']],
    ['Ready!=True', 'get/get_status_ready_not_true.golden', ['gr-failed', 'gr-unknown']],
  ] as const) {
    const r = await runFlotilla(['get', 'sources', 'git', '--status-selector', sel, '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').slice(1).map((l) => l.split('\t')[0]?.trim()), [...names], sel);
    const g = readGolden(golden);
    if (g !== undefined) assert.equal(r.stdout, g, sel);
  }

  let r = await runFlotilla(['get', 'sources', 'git', '-A', '-l', `cli-test=${run}`, '--status-selector', 'ready=false', ...kube()]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^NAMESPACE\s*\tNAME\s*\tREVISION/);
  assert.match(r.stdout, new RegExp(`^${ns}\\s*\\tgr-failed\\s*\\t`, 'm'));

  r = await runFlotilla(['get', 'sources', 'git', 'missing', '-n', ns, ...kube()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `✗ GitRepository object 'missing' not found in "${ns}" namespace\n`);
  r = await runFlotilla(['get', 'kustomizations', '-n', ns, ...kube()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `✗ no Kustomization objects found in "${ns}" namespace\n`);

  await client.create({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'apps', namespace: ns },
    spec: { interval: '10m', path: './apps', prune: true, sourceRef: { kind: 'GitRepository', name: 'gr-ready' } },
  });
  r = await runFlotilla(['get', 'all', '-n', ns, ...kube()]);
  assert.equal(r.code, 0, r.stderr);
  const sections = r.stdout.split('\n\n');
  assert.equal(sections.length, 3, r.stdout);
  assert.match(sections[0] ?? '', /^NAME\s+\tREVISION/);
  assert.match(sections[0] ?? '', /^gitrepository\/gr-ready\s*\tmain@sha1:696f056d\tFalse\s*\tTrue\s*\t/m);
  assert.match(sections[1] ?? '', /^kustomization\/apps\s*\t\s*\tFalse\s*\tFalse\s*\twaiting to be reconciled\t$/m);
  assert.equal(sections[2], '');

  r = await runFlotilla(['get', 'ks', 'apps', '--show-source', '-n', ns, ...kube()]);
  assert.match(r.stdout, new RegExp(`^apps\\t GitRepository/${ns}/gr-ready\\t`.replace(' ', ''), 'm'));

  r = await runFlotilla(['get', 'sources', 'git', 'gr-ready', '-o', 'json', '-n', ns, ...kube()]);
  const list = JSON.parse(r.stdout) as { kind: string; items: Array<{ kind: string; metadata: { name: string } }> };
  assert.equal(list.kind, 'List');
  assert.deepEqual(list.items.map((i) => `${i.kind}/${i.metadata.name}`), ['GitRepository/gr-ready']);
  r = await runFlotilla(['get', 'all', '-o', 'yaml', '-n', ns, ...kube()]);
  const doc = parse(r.stdout) as { items: Array<{ kind: string }> };
  assert.deepEqual(doc.items.map((i) => i.kind).sort(), ['GitRepository', 'GitRepository', 'GitRepository', 'Kustomization']);
});

test('get --watch prints changes and ends at --timeout with exit 0', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-watch');
  await gitRepository(client, ns, 'watched', {}, { conditions: [condition('Ready', 'Unknown', 'Progressing', 'reconciliation in progress')] });
  const started = Date.now();
  const watching = runFlotilla(['get', 'sources', 'git', '--watch', '--timeout', '3s', '-n', ns, ...kube()]);
  await new Promise((r) => setTimeout(r, 1000));
  await client.patchStatus({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace: ns, name: 'watched' }, fetched(), 'test');
  const r = await watching;
  const elapsed = Date.now() - started;
  assert.equal(r.code, 0, r.stderr);
  assert.ok(elapsed >= 2900 && elapsed < 10_000, `ended after ${elapsed}ms`);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0] ?? '', /^NAME\s*\tREVISION/);
  assert.match(lines[1] ?? '', /^watched\t\s*\tFalse\s*\tUnknown\s*\treconciliation in progress\t$/);
  assert.ok(lines.slice(2).some((l) => /^watched\tmain@sha1:696f056d\tFalse\s*\tTrue\s*\tFetched revision/.test(l)), r.stdout);
  assert.equal(lines.filter((l) => l.startsWith('NAME')).length, 1, 'the header is printed once');
});

test('get all --watch is refused; a bad selector is one error line', async () => {
  let r = await runFlotilla(['get', 'all', '--watch', ...kube()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, '✗ expected a single resource type, but found all\n');
  r = await runFlotilla(['get', 'ks', '--status-selector', 'ready', ...kube()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^✗ expected status selector in type=status or type!=status format, but found: ready\n$/);
  await eventually(async () => (await runFlotilla(['get', 'hr', '-n', 'default', ...kube()])).code === 1, 5000, 'get hr exit code');
});
