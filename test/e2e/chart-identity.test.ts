/**
 * The chart's RBAC is enough: the operator runs with the token of the chart's own
 * ServiceAccount (not the admin) and reconciles a Git source and a Kustomization; in
 * lockdown mode a tenant acts as its own `default` ServiceAccount and a cross-tenant write
 * is refused with a clear message while nothing in the other namespace changes.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { createRepo, startGitHttpServer, type GitHttpServer } from '../../src/cli/dev/git-server.ts';
import type { KubeClient } from '../../src/runtime/client/client.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { applyWithKubectl, renderChart } from '../harness/chart.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const cluster = useCluster();
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

interface Conditioned extends KubeObject {
  status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
}

const ready = (o: Conditioned | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

/** Installs the chart into `ns` and returns a kubeconfig for its ServiceAccount's token. */
async function installChart(ns: string, release: string, values: Record<string, unknown>): Promise<string> {
  const { client, kubeconfigPath } = cluster.get();
  const r = await renderChart({ namespace: ns, releaseName: release, skipCrds: true, values: { fullnameOverride: release, ...values } });
  const res = await applyWithKubectl(kubeconfigPath, r.objects);
  assert.equal(res.code, 0, res.stderr);
  cleanups.push(async () => {
    for (const o of r.objects) if (!o.metadata.namespace && o.kind !== 'Namespace') await client.delete({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name });
  });
  const sa = r.objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === release);
  assert.ok(sa, 'the chart has a ServiceAccount');
  // Kubernetes 1.20's token controller writes a token Secret for every ServiceAccount
  const token = await eventually(async () => {
    const secrets = await client.list<KubeObject & { type?: string; data?: Record<string, string> }>('v1', 'Secret', { namespace: ns });
    const s = secrets.items.find((x) => x.type === 'kubernetes.io/service-account-token' && x.metadata.annotations?.['kubernetes.io/service-account.name'] === release);
    return s?.data?.['token'] ? Buffer.from(s.data['token'], 'base64').toString() : undefined;
  }, 30_000, 'service account token');
  const admin = parse(await readFile(kubeconfigPath, 'utf8')) as { clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }> };
  const c = admin.clusters[0]!.cluster;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chart-identity-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'kubeconfig');
  await writeFile(
    file,
    `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${c.server}\n    certificate-authority-data: ${c['certificate-authority-data']}\nusers:\n- name: sa\n  user:\n    token: ${token}\ncontexts:\n- name: sa\n  context: {cluster: c, user: sa}\ncurrent-context: sa\n`,
    { mode: 0o600 },
  );
  return file;
}

async function waitReady(client: KubeClient, ref: { apiVersion: string; kind: string; namespace: string; name: string }, want: 'True' | 'False', timeoutMs = 60_000): Promise<Conditioned> {
  return eventually(async () => {
    const o = await client.get<Conditioned>(ref);
    return ready(o)?.status === want ? o : undefined;
  }, timeoutMs, `${ref.kind}/${ref.namespace}/${ref.name} Ready=${want}`);
}

const cm = (name: string, ns: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: ${ns}\ndata:\n  k: v\n`;

async function gitServer(): Promise<{ root: string; http: GitHttpServer }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'chart-git-'));
  const http = await startGitHttpServer({ root });
  cleanups.push(async () => {
    await http.close();
    await rm(root, { recursive: true, force: true });
  });
  return { root, http };
}

async function fluxObjects(client: KubeClient, ns: string, name: string, url: string, extra: Record<string, unknown> = {}): Promise<void> {
  await client.apply({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name, namespace: ns }, spec: { interval: '10m', url, ref: { branch: 'main' } } } as KubeObject, { fieldManager: 'test' });
  await client.apply({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name, namespace: ns }, spec: { interval: '10m', prune: true, path: './', sourceRef: { kind: 'GitRepository', name }, ...extra } } as KubeObject, { fieldManager: 'test' });
}

test('default mode: the operator reconciles as the chart ServiceAccount', async () => {
  const { client, namespace } = cluster.get();
  const release = await namespace('chart-default');
  const apps = await namespace('chart-apps');
  const kubeconfig = await installChart(release, release, {});
  const { root, http } = await gitServer();
  await createRepo(root, 'app', { 'app.yaml': cm('from-git', apps) });
  let op: TestOperator | undefined = await startTestOperator(kubeconfig, release, { watchAllNamespaces: true, enableLeaderElection: true, leaderElectionRetryPeriod: '1s' });
  cleanups.push(() => op?.stop() ?? Promise.resolve());
  try {
    await fluxObjects(client, apps, 'app', http.url('app'));
    await waitReady(client, { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: apps, name: 'app' }, 'True');
    assert.ok(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: apps, name: 'from-git' }));
    const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: release, name: 'flotilla-leader-election' });
    assert.equal(lease?.spec?.holderIdentity, `test-${release}`, 'the chart Role covers the leader-election Lease');
    await client.delete({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: apps, name: 'app' });
    await client.delete({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace: apps, name: 'app' });
    await eventually(async () => (await client.get({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: apps, name: 'app' })) === undefined, 20_000, 'deleted');
  } finally {
    await op.stop();
    op = undefined;
  }
});

test('lockdown mode: tenants act as their own service account; a cross-tenant write is refused', async () => {
  const { client, namespace } = cluster.get();
  const release = await namespace('chart-lockdown');
  const teamX = await namespace('team-x');
  const teamY = await namespace('team-y');
  await client.apply(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'default-edit', namespace: teamX }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: teamX }] } as KubeObject,
    { fieldManager: 'test' },
  );
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'precious', namespace: teamY }, data: { owner: 'team-y' } } as KubeObject);
  const before = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamY, name: 'precious' });
  const kubeconfig = await installChart(release, release, { multitenancy: { enabled: true, platformServiceAccounts: { enabled: false } } });
  const { root, http } = await gitServer();
  await createRepo(root, 'own', { 'own.yaml': cm('own', teamX) });
  await createRepo(root, 'intrude', { 'intrude.yaml': cm('precious', teamY) });
  let op: TestOperator | undefined = await startTestOperator(kubeconfig, release, {
    watchAllNamespaces: true,
    crossNamespaceRefs: false,
    remoteBases: false,
    defaultServiceAccount: 'default',
  });
  cleanups.push(() => op?.stop() ?? Promise.resolve());
  try {
    await fluxObjects(client, teamX, 'own', http.url('own'));
    await fluxObjects(client, teamX, 'intrude', http.url('intrude'));
    const ks = (name: string) => ({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: teamX, name });
    await waitReady(client, ks('own'), 'True');
    const refused = await waitReady(client, ks('intrude'), 'False');
    assert.match(ready(refused)!.message, new RegExp(`ConfigMap/${teamY}/precious`));
    assert.match(ready(refused)!.message, /forbidden/i);
    assert.match(ready(refused)!.message, new RegExp(`system:serviceaccount:${teamX}:default`));
    const after = await client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamY, name: 'precious' });
    assert.equal(after?.metadata.resourceVersion, before?.metadata.resourceVersion, 'nothing changed in the other tenant');
    // a source in another namespace is refused under lockdown
    await client.apply({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', metadata: { name: 'borrow', namespace: teamY }, spec: { interval: '10m', prune: true, path: './', sourceRef: { kind: 'GitRepository', name: 'own', namespace: teamX } } } as KubeObject, { fieldManager: 'test' });
    const borrow = await waitReady(client, { apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: teamY, name: 'borrow' }, 'False');
    assert.match(ready(borrow)!.message, /cross-namespace/);
    assert.equal((await waitReady(client, ks('own'), 'True')).metadata.name, 'own', 'the allowed tenant stays Ready');
  } finally {
    await op.stop();
    op = undefined;
  }
});
