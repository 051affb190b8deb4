import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { encryptForTests } from '../../src/services/sops/testing.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { commitFiles, createRepo, startGitHttpServer, type GitHttpServer } from '../harness/git-server.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const run = promisify(execFile);
const cluster = useCluster();
let root: string;
let http: GitHttpServer;
let op: TestOperator;
let ns: string;

interface Ks extends KubeObject {
  status?: {
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    inventory?: { entries: Array<{ id: string; v: string }> };
    lastAppliedRevision?: string;
    lastAttemptedRevision?: string;
    observedGeneration?: number;
    history?: Array<{ digest: string; lastReconciledStatus: string; totalReconciliations: number; metadata?: Record<string, string>; lastReconciledDuration: string }>;
  };
}

const KS = 'kustomize.toolkit.fluxcd.io/v1';
const ksRef = (name: string) => ({ apiVersion: KS, kind: 'Kustomization', namespace: ns, name });
const cm = (name: string, extra = '') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  namespace: NS\n${extra}data:\n  k: v\n`;

async function applyObj(obj: Record<string, unknown>): Promise<void> {
  await cluster.get().client.apply(obj as KubeObject, { fieldManager: 'test', force: true });
}

async function gitRepo(name: string): Promise<void> {
  await applyObj({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name, namespace: ns }, spec: { interval: '1m', url: http.url(name), ref: { branch: 'main' } } });
}

async function kustomization(name: string, spec: Record<string, unknown>, annotations?: Record<string, string>): Promise<void> {
  await applyObj({
    apiVersion: KS,
    kind: 'Kustomization',
    metadata: { name, namespace: ns, ...(annotations ? { annotations } : {}) },
    spec: { interval: '10m', prune: true, sourceRef: { kind: 'GitRepository', name: spec['repo'] ?? name }, ...spec, repo: undefined },
  });
}

const readyOf = (o: Ks | undefined) => o?.status?.conditions?.find((c) => c.type === 'Ready');

async function waitKs(name: string, want: 'True' | 'False', pred: (o: Ks) => boolean = () => true, timeoutMs = 40_000): Promise<Ks> {
  return eventually(async () => {
    const o = await cluster.get().client.get<Ks>(ksRef(name));
    return readyOf(o)?.status === want && o?.status?.observedGeneration === o?.metadata.generation && o && pred(o) ? o : undefined;
  }, timeoutMs, `Kustomization ${name} Ready=${want}`);
}

async function reconcileNow(kind: 'Kustomization' | 'GitRepository', name: string): Promise<void> {
  const apiVersion = kind === 'Kustomization' ? KS : 'source.toolkit.fluxcd.io/v1';
  await cluster.get().client.patch({ apiVersion, kind, namespace: ns, name }, { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `${Date.now()}` } } });
}

const getCm = (name: string) => cluster.get().client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name });

function files(map: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, v.replaceAll('NS', ns)]));
}

before(async () => {
  const c = cluster.get();
  ns = await c.namespace('ks');
  root = await mkdtemp(path.join(os.tmpdir(), 'ks-git-'));
  http = await startGitHttpServer({ root });
  await c.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tenant', namespace: ns } });
  await c.client.apply(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'tenant-edit', namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'ServiceAccount', name: 'tenant', namespace: ns }] },
    { fieldManager: 'test' },
  );
  op = await startTestOperator(c.kubeconfigPath, ns);
});

after(async () => {
  await op?.stop();
  await http?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('apply, owner labels, inventory, no-op reconcile writes nothing, prune of removed objects only', async () => {
  const c = cluster.get().client;
  await createRepo(root, 'app', files({ 'deploy/a.yaml': cm('a'), 'deploy/b.yaml': cm('b'), 'deploy/keep.yaml': cm('keep', '  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n') }));
  await gitRepo('app');
  await kustomization('app', { path: './deploy' });
  const ks = await waitKs('app', 'True');
  assert.match(readyOf(ks)!.message, /^Applied revision: main@sha1:[0-9a-f]{40}$/);
  assert.equal(ks.status?.lastAppliedRevision, ks.status?.lastAttemptedRevision);
  assert.deepEqual(ks.status?.inventory?.entries.map((e) => e.id).sort(), [`${ns}_a__ConfigMap`, `${ns}_b__ConfigMap`, `${ns}_keep__ConfigMap`]);
  const a = await getCm('a');
  assert.equal(a?.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'app');
  assert.equal(a?.metadata.labels?.['kustomize.toolkit.fluxcd.io/namespace'], ns);
  assert.ok(((a?.metadata as { managedFields?: Array<{ manager: string }> }).managedFields ?? []).some((m) => m.manager === 'kustomize-controller'));
  const h0 = ks.status?.history ?? [];
  assert.equal(h0.length, 1, 'one history snapshot');
  assert.match(h0[0]!.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(h0[0]!.lastReconciledStatus, 'ReconciliationSucceeded');
  assert.equal(h0[0]!.metadata?.['revision'], ks.status?.lastAppliedRevision);
  assert.match(h0[0]!.lastReconciledDuration, /^[\d.]+(ms|s)$/);

  // a forced reconcile with nothing new must not rewrite any object
  const rvBefore = (await c.list('v1', 'ConfigMap', { namespace: ns })).items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  await reconcileNow('Kustomization', 'app');
  await eventually(async () => (await c.get<Ks>(ksRef('app')))?.status?.['lastHandledReconcileAt' as never], 15_000);
  const rvAfter = (await c.list('v1', 'ConfigMap', { namespace: ns })).items.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  assert.deepEqual(rvAfter, rvBefore, 'no object was rewritten by a no-op reconcile');
  const h1 = (await c.get<Ks>(ksRef('app')))?.status?.history ?? [];
  assert.equal(h1.length, 1, 'the same build counts up the same snapshot');
  assert.equal(h1[0]!.digest, h0[0]!.digest);
  assert.ok(h1[0]!.totalReconciliations > h0[0]!.totalReconciliations);

  // drift is corrected
  await c.patch({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'a' }, { data: { k: 'drifted' } });
  await reconcileNow('Kustomization', 'app');
  await eventually(async () => (await getCm('a'))?.data?.['k'] === 'v', 15_000, 'drift corrected');

  // removing b and keep from Git prunes b only (keep has prune: disabled); a relabelled object is left alone
  await commitFiles(root, 'app', { 'deploy/b.yaml': null, 'deploy/keep.yaml': null }, { message: 'remove b' });
  await reconcileNow('GitRepository', 'app');
  await waitKs('app', 'True', (o) => (o.status?.inventory?.entries.length ?? 0) === 1);
  await eventually(async () => (await getCm('b')) === undefined, 15_000, 'b pruned');
  assert.ok(await getCm('keep'), 'prune: disabled is kept');
  const h2 = (await c.get<Ks>(ksRef('app')))?.status?.history ?? [];
  assert.equal(h2.length, 2, 'a new build is a new snapshot, in front');
  assert.notEqual(h2[0]!.digest, h0[0]!.digest);
  assert.equal(h2[1]!.digest, h0[0]!.digest);
  const events = (await c.list('v1', 'Event', { namespace: ns })).items.filter((e) => (e['involvedObject'] as { name: string }).name === 'app');
  assert.ok(events.some((e) => e['reason'] === 'Progressing' && String(e['message']).includes(`ConfigMap/${ns}/b deleted`)), 'prune is in the change set event');
});

test('empty-build guard: a build with no objects does not wipe the inventory unless opted in', async () => {
  await createRepo(root, 'guard', files({ 'deploy/g1.yaml': cm('g1'), 'deploy/g2.yaml': cm('g2') }));
  await gitRepo('guard');
  await kustomization('guard', { path: './deploy' });
  await waitKs('guard', 'True');
  await commitFiles(root, 'guard', { 'deploy/g1.yaml': null, 'deploy/g2.yaml': null, 'deploy/README.md': '# nothing\n' }, { message: 'oops' });
  await reconcileNow('GitRepository', 'guard');
  const failed = await waitKs('guard', 'False', (o) => /produced no objects/.test(readyOf(o)!.message));
  assert.match(readyOf(failed)!.message, /flotilla\.io\/allow-empty-build=enabled/);
  assert.ok(await getCm('g1'), 'nothing deleted');
  assert.equal(failed.status?.inventory?.entries.length, 2, 'inventory kept');
  await kustomization('guard', { path: './deploy' }, { 'flotilla.io/allow-empty-build': 'enabled' });
  await eventually(async () => (await getCm('g1')) === undefined, 20_000, 'pruned once opted in');
});

test('nothing is pruned when the build fails', async () => {
  await createRepo(root, 'broken', files({ 'deploy/kustomization.yaml': 'resources:\n  - x.yaml\n', 'deploy/x.yaml': cm('x') }));
  await gitRepo('broken');
  await kustomization('broken', { path: './deploy' });
  await waitKs('broken', 'True');
  await commitFiles(root, 'broken', { 'deploy/kustomization.yaml': 'resources:\n  - x.yaml\n  - missing.yaml\n' }, { message: 'break it' });
  await reconcileNow('GitRepository', 'broken');
  const failed = await waitKs('broken', 'False');
  assert.equal(readyOf(failed)?.reason, 'BuildFailed');
  assert.match(readyOf(failed)!.message, /missing\.yaml/);
  assert.ok(await getCm('x'), 'applied object kept');
  const warn = (await cluster.get().client.list('v1', 'Event', { namespace: ns })).items.find(
    (e) => e['type'] === 'Warning' && (e['involvedObject'] as { name: string }).name === 'broken' && e['reason'] === 'BuildFailed',
  );
  assert.ok(warn, 'a Warning event with the reason');
});

test('post-build substitution: substitute, substituteFrom, defaults, escapes, strict error', async () => {
  await cluster.get().client.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vars', namespace: ns }, data: { color: 'blue' } } as KubeObject, { fieldManager: 'test' });
  const tpl = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: subst\n  namespace: NS\ndata:\n  env: ${env}\n  color: ${color}\n  size: ${size:=large}\n  literal: $${env}\n';
  await createRepo(root, 'subst', files({ 'deploy/c.yaml': tpl }));
  await gitRepo('subst');
  await kustomization('subst', { path: './deploy', postBuild: { substitute: { env: 'prod' }, substituteFrom: [{ kind: 'ConfigMap', name: 'vars' }, { kind: 'Secret', name: 'absent', optional: true }] } });
  await waitKs('subst', 'True');
  assert.deepEqual((await getCm('subst'))?.data, { env: 'prod', color: 'blue', size: 'large', literal: '${env}' });
  await commitFiles(root, 'subst', { 'deploy/c.yaml': tpl.replace('size: ${size:=large}', 'size: ${undefined_var}') }, { message: 'strict' });
  await reconcileNow('GitRepository', 'subst');
  const failed = await waitKs('subst', 'False');
  assert.match(readyOf(failed)!.message, /undefined_var/);
});

test('SOPS: encrypted Secret decrypted on apply with an age key from decryption.secretRef', async () => {
  const { stdout } = await run('age-keygen', []);
  const identity = stdout.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))!;
  const recipient = stdout.match(/public key: (age1[0-9a-z]+)/)![1]!;
  const secret = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: ${ns}\nstringData:\n  password: s3cr3t-canary\n`;
  const encrypted = await encryptForTests(secret, 'yaml', [recipient], { encryptedRegex: '^(data|stringData)$' } as never);
  assert.ok(!encrypted.includes('s3cr3t-canary'));
  await cluster.get().client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'sops-age', namespace: ns }, stringData: { 'age.agekey': `${identity}\n` } } as KubeObject, { fieldManager: 'test' });
  await createRepo(root, 'sops', { 'deploy/secret.yaml': encrypted });
  await gitRepo('sops');
  await kustomization('sops', { path: './deploy', decryption: { provider: 'sops', secretRef: { name: 'sops-age' } } });
  await waitKs('sops', 'True');
  const s = await cluster.get().client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret', namespace: ns, name: 'creds' });
  assert.equal(Buffer.from(s?.data?.['password'] ?? '', 'base64').toString(), 's3cr3t-canary');
  const ks = await cluster.get().client.get<Ks>(ksRef('sops'));
  const events = (await cluster.get().client.list('v1', 'Event', { namespace: ns })).items;
  assert.ok(!JSON.stringify(ks).includes('s3cr3t-canary') && !JSON.stringify(events).includes('s3cr3t-canary'), 'plaintext never in status or events');
});

test('dependsOn: waits with DependencyNotReady, then runs as soon as the dependency is Ready; cycles are reported', async () => {
  await createRepo(root, 'dep', files({ 'deploy/d.yaml': cm('dep-obj') }));
  await gitRepo('dep');
  await kustomization('dependent', { path: './deploy', repo: 'dep', dependsOn: [{ name: 'provider' }] });
  const waiting = await eventually(async () => {
    const o = await cluster.get().client.get<Ks>(ksRef('dependent'));
    return readyOf(o)?.reason === 'DependencyNotReady' ? o : undefined;
  }, 20_000, 'DependencyNotReady');
  assert.match(readyOf(waiting)!.message, /dependency '.*\/provider' not found/);
  const t0 = Date.now();
  await createRepo(root, 'provider', files({ 'deploy/p.yaml': cm('provider-obj') }));
  await gitRepo('provider');
  await kustomization('provider', { path: './deploy' });
  await waitKs('provider', 'True');
  await waitKs('dependent', 'True');
  // --requeue-dependency is 2s in tests; event-driven it takes well under a poll cycle after the provider
  assert.ok(Date.now() - t0 < 20_000);

  await kustomization('cyc-a', { path: './deploy', repo: 'dep', dependsOn: [{ name: 'cyc-b' }] });
  await kustomization('cyc-b', { path: './deploy', repo: 'dep', dependsOn: [{ name: 'cyc-a' }] });
  const cyc = await eventually(async () => {
    const o = await cluster.get().client.get<Ks>(ksRef('cyc-a'));
    return /circular dependency/.test(readyOf(o)?.message ?? '') ? o : undefined;
  }, 20_000, 'cycle reported');
  assert.match(readyOf(cyc)!.message, /cyc-a -> .*cyc-b -> .*cyc-a/);
  assert.equal(cyc.status?.conditions?.find((c) => c.type === 'Stalled')?.status, 'True');
});

test('tenancy: impersonation limits writes; a forbidden object gets a clear message and nothing else is pruned', async () => {
  const c = cluster.get().client;
  const other = await cluster.get().namespace('other-team');
  await createRepo(root, 'tenant', files({ 'deploy/own.yaml': cm('tenant-own') }));
  await gitRepo('tenant');
  await kustomization('tenant', { path: './deploy', serviceAccountName: 'tenant' });
  await waitKs('tenant', 'True');
  // now the tenant's repo also tries to write into another namespace
  await commitFiles(root, 'tenant', { 'deploy/evil.yaml': cm('evil').replace('namespace: NS', `namespace: ${other}`) }, { message: 'cross-tenant write' });
  await reconcileNow('GitRepository', 'tenant');
  const failed = await waitKs('tenant', 'False');
  const msg = readyOf(failed)!.message;
  assert.match(msg, new RegExp(`ConfigMap/${other}/evil`));
  assert.match(msg, /forbidden/i);
  assert.match(msg, new RegExp(`system:serviceaccount:${ns}:tenant`));
  assert.equal(await c.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: other, name: 'evil' }), undefined);
  assert.ok(await getCm('tenant-own'), 'the tenant keeps its own objects');
});

test('a health check failure is reported with the object; spec.timeout bounds the wait', async () => {
  const deploy = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: never-ready\n  namespace: NS\nspec:\n  replicas: 1\n  progressDeadlineSeconds: 600\n  selector:\n    matchLabels: {app: nr}\n  template:\n    metadata:\n      labels: {app: nr}\n    spec:\n      nodeSelector: {nowhere: "true"}\n      containers:\n        - name: c\n          image: busybox\n`;
  await createRepo(root, 'health', files({ 'deploy/d.yaml': deploy }));
  await gitRepo('health');
  await cluster.get().client.create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-pods', namespace: ns }, spec: { hard: { pods: '0' } } } as KubeObject);
  try {
    await kustomization('health', { path: './deploy', wait: true, timeout: '5s' });
    // while it waits, watchers are told so at once: Ready=Unknown, Reconciling and Healthy say what runs
    const waiting = await eventually(async () => {
      const o = await cluster.get().client.get<Ks>(ksRef('health'));
      const running = o?.status?.conditions?.find((c) => c.type === 'Reconciling')?.message.startsWith('Running health checks');
      return readyOf(o)?.status === 'Unknown' && running ? o : undefined;
    }, 30_000, 'progress reported during the health wait');
    assert.equal(readyOf(waiting)?.message, 'Reconciliation in progress');
    const reconciling = waiting.status?.conditions?.find((c) => c.type === 'Reconciling');
    assert.match(reconciling?.message ?? '', /^Running health checks for revision main@sha1:[0-9a-f]{40} with a timeout of 5s$/);
    assert.equal(waiting.status?.conditions?.find((c) => c.type === 'Healthy')?.status, 'Unknown');
    const failed = await waitKs('health', 'False', () => true, 40_000);
    assert.equal(readyOf(failed)?.reason, 'HealthCheckFailed');
    assert.match(readyOf(failed)!.message, /Deployment\/.*never-ready/);
    assert.equal(failed.status?.conditions?.find((c) => c.type === 'Healthy')?.status, 'False');
    assert.equal(failed.status?.history?.[0]?.lastReconciledStatus, 'HealthCheckFailed');
  } finally {
    await cluster.get().client.delete({ apiVersion: 'v1', kind: 'ResourceQuota', namespace: ns, name: 'no-pods' });
  }
});

test('deleting a Kustomization with prune deletes what it applied; Bucket sources are refused clearly', async () => {
  await createRepo(root, 'gone', files({ 'deploy/x.yaml': cm('gone-obj') }));
  await gitRepo('gone');
  await kustomization('gone', { path: './deploy' });
  await waitKs('gone', 'True');
  await cluster.get().client.delete(ksRef('gone'));
  await eventually(async () => (await getCm('gone-obj')) === undefined, 20_000, 'garbage collected');

  await applyObj({ apiVersion: KS, kind: 'Kustomization', metadata: { name: 'bucket', namespace: ns }, spec: { interval: '10m', prune: true, sourceRef: { kind: 'Bucket', name: 'b' } } });
  const failed = await waitKs('bucket', 'False');
  assert.match(readyOf(failed)!.message, /Bucket.*not supported/);
});

test('offboarding: when the tenant service account is gone, deleting the Kustomization does not hang', async () => {
  const c = cluster.get().client;
  await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'leaving', namespace: ns } });
  await c.apply(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'leaving-edit', namespace: ns }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'ServiceAccount', name: 'leaving', namespace: ns }] },
    { fieldManager: 'test' },
  );
  await createRepo(root, 'leaving', files({ 'deploy/x.yaml': cm('leaving-obj') }));
  await gitRepo('leaving');
  await kustomization('leaving', { path: './deploy', serviceAccountName: 'leaving' });
  await waitKs('leaving', 'True');
  await c.delete({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: ns, name: 'leaving' });
  await c.delete(ksRef('leaving'));
  await eventually(async () => (await c.get(ksRef('leaving'))) === undefined, 15_000, 'finalizer released');
  assert.ok(await getCm('leaving-obj'), 'nothing was deleted without an identity to delete it as');
});

test('failure without prune: broken YAML, a missing source, a failing decryption', async () => {
  await createRepo(root, 'fm', files({ 'deploy/one.yaml': cm('fm-one'), 'deploy/two.yaml': cm('fm-two') }));
  await gitRepo('fm');
  await kustomization('fm', { path: './deploy' });
  await waitKs('fm', 'True');
  const intact = async () => {
    assert.ok(await getCm('fm-one'), 'fm-one kept');
    assert.ok(await getCm('fm-two'), 'fm-two kept');
  };

  // broken YAML replacing one of the files
  await commitFiles(root, 'fm', { 'deploy/two.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n' }, { message: 'broken yaml' });
  await reconcileNow('GitRepository', 'fm');
  const broken = await waitKs('fm', 'False');
  assert.equal(readyOf(broken)?.reason, 'BuildFailed');
  await intact();

  // a missing source
  await kustomization('fm', { path: './deploy', repo: 'no-such-repo' });
  // waiting for a source is not a terminal outcome: observedGeneration stays behind
  const missing = await eventually(async () => {
    const o = await cluster.get().client.get<Ks>(ksRef('fm'));
    return readyOf(o)?.status === 'False' && /not found/.test(readyOf(o)!.message) ? o : undefined;
  }, 30_000, 'missing source reported');
  assert.equal(readyOf(missing)?.reason, 'ArtifactFailed');
  await intact();

  // a failing decryption: an encrypted Secret and the wrong key
  const gen = async () => (await run('age-keygen', [])).stdout;
  const right = await gen();
  const wrong = await gen();
  const recipient = right.match(/public key: (age1[0-9a-z]+)/)![1]!;
  const enc = await encryptForTests(`apiVersion: v1\nkind: Secret\nmetadata:\n  name: fm-secret\n  namespace: ${ns}\nstringData:\n  k: v\n`, 'yaml', [recipient], { encryptedRegex: '^(data|stringData)$' } as never);
  await commitFiles(root, 'fm', { 'deploy/two.yaml': cm('fm-two').replaceAll('NS', ns), 'deploy/secret.yaml': enc }, { message: 'add secret' });
  await cluster.get().client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wrong-key', namespace: ns }, stringData: { 'k.agekey': wrong.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'))! } } as KubeObject, { fieldManager: 'test' });
  await kustomization('fm', { path: './deploy', decryption: { provider: 'sops', secretRef: { name: 'wrong-key' } } });
  await reconcileNow('GitRepository', 'fm');
  const undecryptable = await waitKs('fm', 'False', (o) => readyOf(o)?.reason === 'BuildFailed');
  assert.ok(!/AGE-SECRET-KEY/.test(readyOf(undecryptable)!.message), 'no key material in the message');
  await intact();
});

test('deleting a Kustomization during a long health wait cancels the wait', async () => {
  const c = cluster.get().client;
  const deploy = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: slow\n  namespace: NS\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: slow}\n  template:\n    metadata:\n      labels: {app: slow}\n    spec:\n      nodeSelector: {nowhere: "true"}\n      containers:\n        - name: c\n          image: busybox\n`;
  await createRepo(root, 'slow', files({ 'deploy/d.yaml': deploy }));
  await gitRepo('slow');
  await c.create({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-pods-slow', namespace: ns }, spec: { hard: { pods: '0' } } } as KubeObject);
  try {
    await kustomization('slow', { path: './deploy', wait: true, timeout: '5m' });
    await eventually(async () => (await c.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'slow' })) !== undefined, 20_000, 'applied');
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    await c.delete(ksRef('slow'));
    await eventually(async () => (await c.get(ksRef('slow'))) === undefined, 20_000, 'deleted without waiting for the 5m health timeout');
    assert.ok(Date.now() - t0 < 20_000);
  } finally {
    await c.delete({ apiVersion: 'v1', kind: 'ResourceQuota', namespace: ns, name: 'no-pods-slow' });
  }
});

test('kubeConfig.secretRef: objects are applied with the remote kubeconfig identity; exec plugins are refused', async () => {
  const c = cluster.get().client;
  // the "remote cluster" is this one, reached with another identity: a service account
  // that may edit only the target namespace
  const target = await cluster.get().namespace('ks-remote');
  await c.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'remote-user', namespace: target } });
  await c.apply(
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'remote-edit', namespace: target }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ kind: 'ServiceAccount', name: 'remote-user', namespace: target }] },
    { fieldManager: 'test' },
  );
  const token = await eventually(async () => {
    const secrets = (await c.list<KubeObject & { type?: string; data?: Record<string, string> }>('v1', 'Secret', { namespace: target })).items;
    const t = secrets.find((s) => s.type === 'kubernetes.io/service-account-token' && s.metadata.annotations?.['kubernetes.io/service-account.name'] === 'remote-user')?.data?.['token'];
    return t ? Buffer.from(t, 'base64').toString('utf8') : undefined;
  }, 20_000, 'service account token');
  const admin = parse(await readFile(cluster.get().kubeconfigPath, 'utf8')) as { clusters: Array<{ cluster: Record<string, string> }> };
  const server = admin.clusters[0]!.cluster;
  const kubeconfig = (user: Record<string, unknown>) =>
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'remote', cluster: server }],
      users: [{ name: 'remote', user }],
      contexts: [{ name: 'remote', context: { cluster: 'remote', user: 'remote' } }],
      'current-context': 'remote',
    });
  const secret = (name: string, value: string) =>
    c.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: { value } } as KubeObject, { fieldManager: 'test', force: true });
  await secret('remote-kc', kubeconfig({ token }));
  await secret('exec-kc', kubeconfig({ exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'touch', args: ['/tmp/flotilla-exec-ran'] } }));

  await createRepo(root, 'remote', files({ 'deploy/r.yaml': cm('remote-obj') }));
  await gitRepo('remote');
  await kustomization('remote', { path: './deploy', targetNamespace: target, kubeConfig: { secretRef: { name: 'remote-kc' } } });
  await waitKs('remote', 'True');
  const applied = await c.get<KubeObject>({ apiVersion: 'v1', kind: 'ConfigMap', namespace: target, name: 'remote-obj' });
  assert.equal(applied?.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'remote');

  // the same kubeconfig may not write into the Kustomization's own namespace: proof it is the identity used
  await kustomization('remote-denied', { path: './deploy', repo: 'remote', kubeConfig: { secretRef: { name: 'remote-kc' } } });
  const denied = await waitKs('remote-denied', 'False');
  assert.match(readyOf(denied)!.message, new RegExp(`system:serviceaccount:${target}:remote-user`));
  assert.equal(await getCm('remote-obj'), undefined, 'nothing written with the operator identity');

  // an exec plugin would run a tenant's program inside the operator
  await kustomization('remote-exec', { path: './deploy', repo: 'remote', kubeConfig: { secretRef: { name: 'exec-kc' } } });
  const exec = await waitKs('remote-exec', 'False');
  assert.match(readyOf(exec)!.message, /exec or auth-provider plugin, which is not allowed/);
  assert.equal(existsSync('/tmp/flotilla-exec-ran'), false);
  assert.ok(!JSON.stringify(denied.status).includes(token), 'the token never appears in status');
});

test('healthCheckExprs: CEL decides health for the kinds it covers; an invalid expression stalls', async () => {
  const c = cluster.get().client;
  const gate = (value: string) => files({ 'deploy/gate.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gate\n  namespace: NS\ndata:\n  state: ${value}\n` });
  await createRepo(root, 'cel', gate('waiting'));
  await gitRepo('cel');
  const exprs = [{ apiVersion: 'v1', kind: 'ConfigMap', current: "data.state == 'ready'", failed: "data.state == 'broken'" }];
  await kustomization('cel', { path: './deploy', wait: true, timeout: '3s', healthCheckExprs: exprs });
  // kstatus alone would call a ConfigMap Current at once: the expression holds it back
  const waiting = await waitKs('cel', 'False');
  assert.equal(readyOf(waiting)?.reason, 'HealthCheckFailed');
  assert.match(readyOf(waiting)!.message, /timeout waiting for: \[ConfigMap\/.*gate status: 'InProgress'\]/);

  await commitFiles(root, 'cel', gate('broken'), { message: 'broken' });
  await reconcileNow('GitRepository', 'cel');
  const broken = await waitKs('cel', 'False', (o) => /failed early/.test(readyOf(o)?.message ?? ''));
  assert.match(readyOf(broken)!.message, /gate status: 'Failed'/);

  await commitFiles(root, 'cel', gate('ready'), { message: 'ready' });
  await reconcileNow('GitRepository', 'cel');
  await waitKs('cel', 'True', (o) => o.status?.conditions?.find((x) => x.type === 'Healthy')?.status === 'True');

  await kustomization('cel', { path: './deploy', wait: true, timeout: '3s', healthCheckExprs: [{ apiVersion: 'v1', kind: 'ConfigMap', current: "data.state ==" }] });
  const stalled = await waitKs('cel', 'False', (o) => readyOf(o)?.reason === 'InvalidCELExpression');
  assert.match(readyOf(stalled)!.message, /^Reconciliation failed terminally due to configuration error: failed to parse the CEL expression healthCheckExprs\[0\]\.current/);
  assert.equal(stalled.status?.conditions?.find((x) => x.type === 'Stalled')?.status, 'True');
  assert.equal((await getCm('gate'))?.data?.['state'], 'ready', 'nothing applied or removed');
  await c.delete(ksRef('cel'));
});

test('CancelHealthCheckOnNewRevision: a new revision ends a health wait on the old one', async () => {
  const c = cluster.get();
  const ns2 = await c.namespace('ks-cancel');
  const op2 = await startTestOperator(c.kubeconfigPath, ns2, { featureGates: 'CancelHealthCheckOnNewRevision=true' });
  try {
    const deploy = (replicas: number) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: slow\n  namespace: ${ns2}\nspec:\n  replicas: ${replicas}\n  selector:\n    matchLabels: {app: slow}\n  template:\n    metadata:\n      labels: {app: slow}\n    spec:\n      containers:\n        - name: c\n          image: busybox\n`;
    await createRepo(root, 'cancel', { 'deploy/d.yaml': deploy(1) });
    await c.client.apply({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-pods', namespace: ns2 }, spec: { hard: { pods: '0' } } } as KubeObject, { fieldManager: 'test' });
    await c.client.apply({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'cancel', namespace: ns2 }, spec: { interval: '1h', url: http.url('cancel'), ref: { branch: 'main' } } } as KubeObject, { fieldManager: 'test' });
    const ks2 = { apiVersion: KS, kind: 'Kustomization', namespace: ns2, name: 'cancel' };
    await c.client.apply(
      { apiVersion: KS, kind: 'Kustomization', metadata: { name: 'cancel', namespace: ns2 }, spec: { interval: '1h', prune: true, wait: true, timeout: '5m', path: './deploy', sourceRef: { kind: 'GitRepository', name: 'cancel' } } } as KubeObject,
      { fieldManager: 'test' },
    );
    // waiting on a Deployment that cannot get its pod, with five minutes to go
    await eventually(async () => (await c.client.get<Ks>(ks2))?.status?.conditions?.find((x) => x.type === 'Reconciling')?.message.startsWith('Running health checks'), 30_000, 'health wait begins');
    const t0 = Date.now();
    await commitFiles(root, 'cancel', { 'deploy/d.yaml': deploy(0) }, { message: 'scale to zero' });
    await c.client.patch({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace: ns2, name: 'cancel' }, { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': `${Date.now()}` } } });
    const done = await eventually(async () => {
      const o = await c.client.get<Ks>(ks2);
      return readyOf(o)?.status === 'True' ? o : undefined;
    }, 60_000, 'the new revision applied and healthy');
    assert.ok(Date.now() - t0 < 60_000, 'well before the old wait would have timed out');
    assert.match(readyOf(done)!.message, /^Applied revision: main@sha1:/);
  } finally {
    await op2.stop();
  }
});
