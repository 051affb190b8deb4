/**
 * `flotilla reconcile`, `suspend`, `resume`, `create` (applied) and `export` against a real
 * API server, with a fake controller answering reconcile requests the way Flotilla's
 * controllers do: the CLI's progress lines, outcomes and exit codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeClient } from '../../src/runtime/client/client.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { readGolden, runFlotilla } from '../../src/cli/commands/testing.ts';
import { useCluster } from '../harness/cluster.ts';
import { artifact, condition, FakeController } from './cli.fake-controller.ts';

const cluster = useCluster();
const GIT = 'source.toolkit.fluxcd.io/v1';
const KS = 'kustomize.toolkit.fluxcd.io/v1';
const REV = `main@sha1:${'b'.repeat(40)}`;

const kube = (): string[] => ['--kubeconfig', cluster.get().kubeconfigPath];

async function gitRepository(client: KubeClient, namespace: string, name: string, spec: Record<string, unknown> = {}): Promise<void> {
  await client.create({ apiVersion: GIT, kind: 'GitRepository', metadata: { name, namespace }, spec: { url: 'https://example.com/repo', interval: '5m', ref: { branch: 'main' }, ...spec } });
}

async function kustomization(client: KubeClient, namespace: string, name: string, source: string, spec: Record<string, unknown> = {}): Promise<void> {
  await client.create({ apiVersion: KS, kind: 'Kustomization', metadata: { name, namespace }, spec: { interval: '5m', path: './', prune: true, sourceRef: { kind: 'GitRepository', name: source }, ...spec } });
}

/** Fails repositories named `broken-*`, succeeds the others. */
const gitReact = (obj: KubeObject): Record<string, unknown> =>
  obj.metadata.name.startsWith('broken')
    ? { conditions: [condition('Ready', 'False', 'GitOperationFailed', 'failed to checkout and determine revision: authentication required')] }
    : { artifact: artifact(REV), conditions: [condition('Ready', 'True', 'Succeeded', `stored artifact for revision '${REV}'`)] };

const ksReact = (obj: KubeObject): Record<string, unknown> =>
  obj.metadata.name.startsWith('broken')
    ? { conditions: [condition('Ready', 'False', 'ReconciliationFailed', 'Deployment/apps/web dry-run failed: field is immutable')] }
    : { lastAppliedRevision: REV, conditions: [condition('Ready', 'True', 'ReconciliationSucceeded', `Applied revision: ${REV}`)] };

test('reconcile: annotate, wait for the echo, report success', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-rec');
  await gitRepository(client, ns, 'podinfo');
  const ctl = new FakeController(client, GIT, 'GitRepository', ns, gitReact).start();
  try {
    const r = await runFlotilla(['reconcile', 'source', 'git', 'podinfo', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      [
        `► annotating GitRepository podinfo in ${ns} namespace`,
        '✔ GitRepository annotated',
        '◎ waiting for GitRepository reconciliation',
        `✔ fetched revision ${REV}`,
        '',
      ].join('\n'),
    );
    const obj = await client.get({ apiVersion: GIT, kind: 'GitRepository', namespace: ns, name: 'podinfo' });
    const requested = obj?.metadata.annotations?.['reconcile.fluxcd.io/requestedAt'] ?? '';
    assert.match(requested, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal((obj?.['status'] as Record<string, unknown>)['lastHandledReconcileAt'], requested);
  } finally {
    await ctl.stop();
  }
});

test('reconcile of a failing object exits non-zero with the Ready message', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-rec');
  await gitRepository(client, ns, 'broken-repo');
  const ctl = new FakeController(client, GIT, 'GitRepository', ns, gitReact).start();
  try {
    const r = await runFlotilla(['reconcile', 'source', 'git', 'broken-repo', '-n', ns, ...kube()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /◎ waiting for GitRepository reconciliation\n✗ GitRepository reconciliation failed: 'failed to checkout and determine revision: authentication required'\n$/);
  } finally {
    await ctl.stop();
  }
});

test('reconcile --with-source reconciles the source first; suspended objects are refused; no controller times out', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-rec');
  await gitRepository(client, ns, 'repo');
  await kustomization(client, ns, 'apps', 'repo');
  await kustomization(client, ns, 'broken-apps', 'repo');
  await kustomization(client, ns, 'paused', 'repo', { suspend: true });
  const git = new FakeController(client, GIT, 'GitRepository', ns, gitReact).start();
  const ks = new FakeController(client, KS, 'Kustomization', ns, ksReact).start();
  try {
    let r = await runFlotilla(['reconcile', 'ks', 'apps', '--with-source', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      [
        `► annotating GitRepository repo in ${ns} namespace`,
        '✔ GitRepository annotated',
        '◎ waiting for GitRepository reconciliation',
        `✔ fetched revision ${REV}`,
        `► annotating Kustomization apps in ${ns} namespace`,
        '✔ Kustomization annotated',
        '◎ waiting for Kustomization reconciliation',
        `✔ applied revision ${REV}`,
        '',
      ].join('\n'),
    );
    r = await runFlotilla(['reconcile', 'kustomization', 'broken-apps', '-n', ns, ...kube()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✗ Kustomization reconciliation failed: Deployment\/apps\/web dry-run failed: field is immutable\n$/);
    r = await runFlotilla(['reconcile', 'ks', 'paused', '-n', ns, ...kube()]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, '✗ resource is suspended\n');
    r = await runFlotilla(['reconcile', 'ks', 'nope', '-n', ns, ...kube()]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `✗ Kustomization object 'nope' not found in "${ns}" namespace\n`);
  } finally {
    await git.stop();
    await ks.stop();
  }
  const r = await runFlotilla(['reconcile', 'ks', 'apps', '--timeout', '1s', '-n', ns, ...kube()]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /✗ timed out waiting for Kustomization reconciliation: the controller has not handled the request yet\n$/);
});

test('suspend and resume: spec.suspend, messages, waiting for the result', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-sus');
  await gitRepository(client, ns, 'repo');
  await kustomization(client, ns, 'apps', 'repo');
  await kustomization(client, ns, 'broken-apps', 'repo');
  const ref = (name: string) => ({ apiVersion: KS, kind: 'Kustomization', namespace: ns, name });
  const suspendOf = async (name: string): Promise<unknown> => ((await client.get(ref(name)))?.['spec'] as Record<string, unknown>)['suspend'];

  let r = await runFlotilla(['suspend', 'kustomization', 'apps', 'foo', '-n', ns, ...kube()]);
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    [`► suspending kustomization apps in ${ns} namespace`, '✔ kustomization suspended', `✗ Kustomization foo not found in ${ns} namespace`, ''].join('\n'),
  );
  assert.equal(await suspendOf('apps'), true);
  r = await runFlotilla(['get', 'ks', 'apps', '-n', ns, ...kube()]);
  assert.match(r.stdout, /^apps\t\s*\tTrue\s*\t/m);

  const ks = new FakeController(client, KS, 'Kustomization', ns, ksReact).start();
  try {
    r = await runFlotilla(['resume', 'ks', 'apps', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      [
        `► resuming kustomization apps in ${ns} namespace`,
        '✔ kustomization resumed',
        '◎ waiting for Kustomization reconciliation',
        '✔ Kustomization apps reconciliation completed',
        `✔ applied revision ${REV}`,
        '',
      ].join('\n'),
    );
    assert.equal(await suspendOf('apps'), undefined, 'resume removes spec.suspend');

    r = await runFlotilla(['suspend', 'ks', '--all', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await suspendOf('broken-apps'), true);
    r = await runFlotilla(['resume', 'ks', 'broken-apps', '-n', ns, ...kube()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✗ Kustomization broken-apps reconciliation failed: Deployment\/apps\/web dry-run failed: field is immutable\n✗ reconciliation failed for 1 Kustomization\(s\)\n$/);
    r = await runFlotilla(['resume', 'ks', '--all', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /waiting/, '--all does not wait unless --wait is given');
  } finally {
    await ks.stop();
  }
  r = await runFlotilla(['suspend', 'ks', '-n', ns, ...kube()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, '✗ kustomization name is required\n');
});

test('create applies with the flux field manager and waits for Ready; export prints it back', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-create');
  const git = new FakeController(client, GIT, 'GitRepository', ns, (obj) =>
    obj.metadata.name === 'noartifact'
      ? { conditions: [condition('Ready', 'True', 'Succeeded', 'ok')] }
      : { artifact: artifact('v1'), conditions: [condition('Ready', 'True', 'Succeeded', 'succeeded message')] },
  ).start();
  const ks = new FakeController(client, KS, 'Kustomization', ns, ksReact).start();
  try {
    let r = await runFlotilla(['create', 'source', 'git', 'podinfo', '--url=https://github.com/stefanprodan/podinfo', '--branch=master', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    const expected = [
      '✚ generating GitRepository source',
      '► applying GitRepository source',
      '✔ GitRepository source created',
      '◎ waiting for GitRepository source reconciliation',
      '✔ GitRepository source reconciliation completed',
      '✔ fetched revision: v1',
      '',
    ].join('\n');
    assert.equal(r.stderr, expected);
    const golden = readGolden('create_source_git/success.golden');
    if (golden !== undefined) assert.equal(r.stderr, golden);
    const obj = await client.get({ apiVersion: GIT, kind: 'GitRepository', namespace: ns, name: 'podinfo' });
    const managers = (obj?.metadata['managedFields'] as Array<{ manager: string }>).map((m) => m.manager);
    assert.ok(managers.includes('flux'), managers.join(','));

    r = await runFlotilla(['create', 'source', 'git', 'podinfo', '--url=https://github.com/stefanprodan/podinfo', '--tag=6.0.0', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /✔ GitRepository source updated\n/);

    r = await runFlotilla(['create', 'source', 'git', 'noartifact', '--url=https://github.com/stefanprodan/podinfo', '--branch=main', '-n', ns, ...kube()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /✗ GitRepository source reconciliation completed but no artifact was found\n$/);

    r = await runFlotilla(['create', 'ks', 'tkfg', '--source=podinfo', '--path=./deploy', '--prune=true', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      ['✚ generating Kustomization', '► applying Kustomization', '✔ Kustomization created', '◎ waiting for Kustomization reconciliation', '✔ Kustomization tkfg is ready', `✔ applied revision ${REV}`, ''].join('\n'),
    );

    r = await runFlotilla(['export', 'source', 'git', 'podinfo', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      ['---', `apiVersion: ${GIT}`, 'kind: GitRepository', 'metadata:', '  name: podinfo', `  namespace: ${ns}`, 'spec:', '  interval: 1m0s', '  ref:', '    tag: 6.0.0', '  timeout: 1m0s', '  url: https://github.com/stefanprodan/podinfo', ''].join('\n'),
    );
    r = await runFlotilla(['export', 'kustomization', '--all', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^---\napiVersion: kustomize.toolkit.fluxcd.io\/v1\nkind: Kustomization\n/);
    assert.doesNotMatch(r.stdout, /status|managedFields|resourceVersion|uid:/);
    r = await runFlotilla(['export', 'source', 'git', '-n', ns, ...kube()]);
    assert.equal(r.stderr, '✗ name is required\n');
  } finally {
    await git.stop();
    await ks.stop();
  }
});

test('export matches Flux golden for objects created like its fixtures', async (t) => {
  const vars = { fluxns: 'x' };
  if (readGolden('export/git-repo.yaml', vars) === undefined) return t.skip('Flux goldens absent');
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-export');
  await client.create({
    apiVersion: GIT, kind: 'GitRepository', metadata: { name: 'flux-system', namespace: ns },
    spec: { ref: { branch: 'main' }, secretRef: { name: 'flux-system' }, interval: '5m', url: 'ssh://git@github.com/example/repo' },
  });
  await client.create({
    apiVersion: KS, kind: 'Kustomization', metadata: { name: 'flux-system', namespace: ns },
    spec: { path: './infrastructure/', sourceRef: { kind: 'GitRepository', name: 'flux-system' }, interval: '5m', prune: true },
  });
  for (const [args, golden] of [
    [['source', 'git'], 'export/git-repo.yaml'],
    [['kustomization'], 'export/ks.yaml'],
  ] as const) {
    const r = await runFlotilla(['export', ...args, 'flux-system', '-n', ns, ...kube()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, readGolden(golden, { fluxns: ns }), golden);
  }
});
