/**
 * The chart's RBAC is enough. The chart is rendered and applied as a platform team would;
 * the operator then runs in this process with exactly the flags the chart's Deployment
 * passes, authenticated with the token of the chart's own ServiceAccount (never the admin).
 *
 * - Default mode: examples/quickstart reconciles (its Deployment becomes Available, since
 *   the Kustomization waits), the leader-election Lease is taken, and deleting the
 *   Kustomization garbage-collects what it applied.
 * - Lockdown mode (`multitenancy.enabled`): a tenant Kustomization acts as its namespace's
 *   `default` ServiceAccount; it writes into its own namespace, a write into another
 *   tenant's namespace is refused with a clear Ready=False message and changes nothing
 *   there, a source in another namespace is refused, and a Flux platform object naming
 *   `kustomize-controller` still reconciles the quickstart with the controller's power.
 *
 * Every Flux object carries a shard label that the chart's `watchLabelSelector` selects, so
 * these operators, which watch all namespaces, leave other test files' objects alone.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { parseAllDocuments, stringify, parse } from 'yaml';
import { normalizeSwitches, OPERATOR_FLAGS, resolveConfig, type RawOptions } from '../../src/config/config.ts';
import { startOperator } from '../../src/main.ts';
import { KubeClient } from '../../src/runtime/client/client.ts';
import { isKubeObject, type KubeObject, type ObjectRef } from '../../src/runtime/client/objects.ts';
import { createLogger } from '../../src/runtime/log/logger.ts';
import { applyWithKubectl, renderChart } from '../harness/chart.ts';
import { eventually } from '../harness/cluster.ts';
import { createRepo, startGitHttpServer, type GitHttpServer } from '../harness/git-server.ts';
import { inProcessEnv, inProcessFlags } from '../harness/operator.ts';
import { isReady, loadExample, prepareFluxObjects, readyCondition, removeNamespaces, useExampleCluster, type FluxObject } from './examples-harness.ts';

// registered before the cluster's hooks: `after` hooks run in order, and operators must
// stop and cluster-scoped objects go while the control plane and its client still work
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch((e: unknown) => console.error('chart-identity cleanup:', e instanceof Error ? e.message : e));
});
const cluster = useExampleCluster();

const FIELD_MANAGER = 'chart-identity-test';
const SHARD_KEY = 'sharding.fluxcd.io/key';
const shard = `chart-identity-${randomBytes(3).toString('hex')}`;
const KS = 'kustomize.toolkit.fluxcd.io/v1';
const GIT = 'source.toolkit.fluxcd.io/v1';

const suffix = (): string => randomBytes(3).toString('hex');

interface Installed {
  /** A kubeconfig whose only credential is the chart ServiceAccount's token. */
  kubeconfig: string;
  /** The operator flags of the chart's Deployment, as commander hands them to resolveConfig. */
  flags: RawOptions;
  serviceAccount: string;
}

interface Container {
  args?: string[];
}

/**
 * The rendered Deployment's arguments parsed the way `flotilla operator` parses them (an
 * argument the operator does not know fails the test).
 */
function chartOperatorFlags(objects: readonly KubeObject[]): RawOptions {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  assert.ok(deployment, 'the chart renders a Deployment');
  const containers = (deployment['spec'] as { template: { spec: { containers: Container[] } } }).template.spec.containers;
  const args = containers[0]?.args ?? [];
  const cmd = new Command('operator').exitOverride().configureOutput({ writeErr: () => undefined });
  for (const f of OPERATOR_FLAGS) cmd.addOption(new Option(f.flag, f.help));
  cmd.parse(normalizeSwitches(args), { from: 'user' });
  return { ...cmd.opts<RawOptions>() };
}

/**
 * Renders the chart into `ns` (release `release`), applies it server-side with kubectl,
 * and returns a kubeconfig for the ServiceAccount its Deployment runs as. Cluster-scoped
 * objects (ClusterRoles, bindings) are deleted when the file ends.
 */
async function installChart(ns: string, release: string, values: Record<string, unknown>): Promise<Installed> {
  const { client, kubeconfigPath } = cluster.get();
  const rendered = await renderChart({
    namespace: ns,
    releaseName: release,
    skipCrds: true,
    values: { ...values, operator: { watchLabelSelector: `${SHARD_KEY}=${shard}` } },
  });
  cleanups.push(async () => {
    for (const o of rendered.objects) {
      if (!o.metadata.namespace && o.kind !== 'Namespace') await client.delete({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name });
    }
  });
  const res = await applyWithKubectl(kubeconfigPath, rendered.objects);
  assert.equal(res.code, 0, res.stderr);
  const deployment = rendered.objects.find((o) => o.kind === 'Deployment');
  const serviceAccount = (deployment?.['spec'] as { template: { spec: { serviceAccountName?: string } } } | undefined)?.template.spec.serviceAccountName;
  assert.ok(serviceAccount, 'the chart Deployment names its ServiceAccount');
  assert.ok(
    rendered.objects.some((o) => o.kind === 'ServiceAccount' && o.metadata.name === serviceAccount && o.metadata.namespace === ns),
    `the chart creates ServiceAccount ${ns}/${serviceAccount}`,
  );
  // Kubernetes 1.20's token controller writes a token Secret for every ServiceAccount
  const token = await eventually(
    async () => {
      const secrets = await client.list<KubeObject & { type?: string; data?: Record<string, string> }>('v1', 'Secret', { namespace: ns });
      const s = secrets.items.find((x) => x.type === 'kubernetes.io/service-account-token' && x.metadata.annotations?.['kubernetes.io/service-account.name'] === serviceAccount);
      return s?.data?.['token'] ? Buffer.from(s.data['token'], 'base64').toString('utf8') : undefined;
    },
    30_000,
    `the token Secret of ServiceAccount ${ns}/${serviceAccount}`,
  );
  const admin = parse(await readFile(kubeconfigPath, 'utf8')) as { clusters: Array<{ cluster: { server: string; 'certificate-authority-data'?: string } }> };
  const server = admin.clusters[0]?.cluster;
  assert.ok(server, 'the admin kubeconfig names a cluster');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'chart-identity-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = path.join(dir, 'kubeconfig');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'local', cluster: server }],
    users: [{ name: serviceAccount, user: { token } }],
    contexts: [{ name: serviceAccount, context: { cluster: 'local', user: serviceAccount } }],
    'current-context': serviceAccount,
  };
  await writeFile(kubeconfig, stringify(config), { mode: 0o600 });
  return { kubeconfig, flags: chartOperatorFlags(rendered.objects), serviceAccount };
}

async function gitServer(): Promise<{ root: string; http: GitHttpServer }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'chart-identity-git-'));
  const http = await startGitHttpServer({ root });
  cleanups.push(async () => {
    await http.close();
    await rm(root, { recursive: true, force: true });
  });
  return { root, http };
}

/**
 * examples/quickstart's repository with its namespace `hello` renamed to `to`, so that it
 * cannot collide with the examples test (or a namespace of that name still terminating).
 */
async function quickstartRepo(to: string): Promise<Record<string, string>> {
  const example = await loadExample('quickstart');
  const files = { ...example.repos[0]?.files };
  let renamed = 0;
  for (const [file, text] of Object.entries(files)) {
    if (!/\.ya?ml$/.test(file)) continue;
    const docs = parseAllDocuments(text).map((d) => d.toJS() as unknown);
    if (!docs.some(isKubeObject)) continue;
    for (const o of docs) {
      if (!isKubeObject(o)) continue;
      if (o.kind === 'Namespace' && o.metadata.name === 'hello') o.metadata.name = to;
      else if (o.metadata.namespace === 'hello') o.metadata.namespace = to;
      else continue;
      renamed++;
    }
    files[file] = docs.map((d) => stringify(d)).join('---\n');
  }
  assert.ok(renamed >= 4, `examples/quickstart still deploys into namespace hello (renamed ${renamed} objects)`);
  return files;
}

/** examples/quickstart/flux, in `namespace`, pointing at `gitBaseUrl`, labelled for this file's shard. */
async function quickstartFlux(namespace: string, gitBaseUrl: string, customize?: (o: KubeObject) => void): Promise<KubeObject[]> {
  const example = await loadExample('quickstart');
  const objects = prepareFluxObjects(example.fluxObjects, { namespace, gitBaseUrl, labels: { [SHARD_KEY]: shard } });
  for (const o of objects) customize?.(o);
  // sources first, as a user applies them
  return objects.sort((a, b) => Number(a.apiVersion.startsWith('kustomize.')) - Number(b.apiVersion.startsWith('kustomize.')));
}

const refOf = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name });
const show = (r: ObjectRef): string => `${r.kind}/${r.namespace ?? ''}/${r.name}`;

/** Flux objects the test applied, deleted (while an operator still runs) by `removeFluxObjects`. */
const applied: ObjectRef[] = [];

async function applyFlux(obj: KubeObject): Promise<void> {
  obj.metadata.labels = { ...obj.metadata.labels, [SHARD_KEY]: shard };
  await cluster.get().client.apply(obj, { fieldManager: FIELD_MANAGER, force: true });
  applied.push(refOf(obj));
}

function gitRepository(ns: string, name: string, url: string): KubeObject {
  return { apiVersion: GIT, kind: 'GitRepository', metadata: { name, namespace: ns }, spec: { interval: '10m', url, ref: { branch: 'main' } } } as KubeObject;
}

function kustomization(ns: string, name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: KS, kind: 'Kustomization', metadata: { name, namespace: ns }, spec: { interval: '10m', prune: true, path: './', ...spec } } as KubeObject;
}

async function waitCondition(ref: ObjectRef, want: 'True' | 'False', timeoutMs = 45_000): Promise<FluxObject> {
  const { client } = cluster.get();
  let last: FluxObject | undefined;
  try {
    return await eventually(
      async () => {
        last = await client.get<FluxObject>(ref);
        if (want === 'True') return isReady(last) ? last : undefined;
        return readyCondition(last)?.status === 'False' && last?.status?.observedGeneration === last?.metadata.generation ? last : undefined;
      },
      timeoutMs,
      `${show(ref)} Ready=${want}`,
    );
  } catch (e) {
    const c = readyCondition(last);
    throw new Error(`${(e as Error).message}; last Ready: ${c ? `${c.status} ${c.reason}: ${c.message}` : 'none'}${recentWarnings()}`);
  }
}

/**
 * Deletes what the test applied, Kustomizations first so that their garbage collection
 * runs as the operator's identity; whatever is not gone in time loses its finalizers.
 */
async function removeFluxObjects(): Promise<string[]> {
  const { client } = cluster.get();
  const stuck: string[] = [];
  const order = applied.splice(0).sort((a, b) => Number(b.kind === 'Kustomization') - Number(a.kind === 'Kustomization'));
  for (const ref of order) await client.delete(ref).catch(() => undefined);
  for (const ref of order) {
    try {
      await eventually(async () => (await client.get(ref)) === undefined, 20_000, `${show(ref)} deleted`);
    } catch {
      stuck.push(show(ref));
      await client.patch(ref, { metadata: { finalizers: null } }).catch(() => undefined);
    }
  }
  return stuck;
}

/** The operator's last warnings and errors, quoted when something does not become Ready. */
const operatorWarnings: string[] = [];

function operatorLogSink(): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        if (process.env['FLOTILLA_TEST_LOG']) process.stderr.write(`${line}\n`);
        if (!/"level":"(warn|error)"/.test(line)) continue;
        operatorWarnings.push(line);
        if (operatorWarnings.length > 20) operatorWarnings.shift();
      }
      done();
    },
  });
}

function recentWarnings(): string {
  return operatorWarnings.length ? `\noperator warnings:\n${operatorWarnings.join('\n')}` : '';
}

/**
 * The real operator in this process with the chart's flags, as the chart identity. What
 * belongs to a pod (listen addresses, storage) is replaced, and retries are shortened.
 * Unlike test/harness/operator.ts, a start that does not finish in time (the identity
 * cannot take the Lease or list what the operator watches: both retry forever) stops the
 * operator and fails, instead of hanging the file.
 */
async function runOperator(installed: Installed, releaseNs: string, startTimeoutMs = 20_000): Promise<{ stop(): Promise<void> }> {
  const storagePath = await mkdtemp(path.join(os.tmpdir(), 'chart-identity-artifacts-'));
  const cfg = resolveConfig(
    { ...installed.flags, kubeconfig: installed.kubeconfig, storagePath, ...inProcessFlags },
    inProcessEnv(releaseNs),
  );
  operatorWarnings.length = 0;
  const op = await startOperator(cfg, createLogger(process.env['FLOTILLA_TEST_LOG'] ? 'debug' : 'warn', operatorLogSink())).catch(async (e: unknown) => {
    await rm(storagePath, { recursive: true, force: true });
    throw e;
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await op.stop();
    } finally {
      await rm(storagePath, { recursive: true, force: true });
    }
  };
  cleanups.push(stop);
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    op.leading.then(
      () => 'started',
      (e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`,
    ),
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`did not start within ${startTimeoutMs / 1000}s`), startTimeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (outcome !== 'started') {
    await stop();
    throw new Error(`the operator running as ServiceAccount ${releaseNs}/${installed.serviceAccount} ${outcome}${recentWarnings()}`);
  }
  return { stop };
}

test('default mode: the quickstart reconciles with the chart ServiceAccount as the only credential', async () => {
  const { client, namespace } = cluster.get();
  const release = await namespace('chart-default');
  const fluxNs = await namespace('chart-flux');
  const appNs = `hello-${suffix()}`;
  const installed = await installChart(release, `flotilla-${suffix()}`, {});
  const cfg = resolveConfig(installed.flags, {});
  assert.equal(cfg.enableLeaderElection, true, 'the chart turns leader election on');
  assert.equal(cfg.watchAllNamespaces, true);
  assert.equal(cfg.defaultServiceAccount, undefined, 'no impersonation by default');
  assert.equal(cfg.noCrossNamespaceRefs, false);

  const { root, http } = await gitServer();
  await createRepo(root, 'quickstart', await quickstartRepo(appNs));
  const op = await runOperator(installed, release);
  try {
    const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: release, name: 'flotilla-leader-election' });
    assert.equal(lease?.spec?.holderIdentity, `test-${release}`, 'the chart Role covers the leader-election Lease');

    const objects = await quickstartFlux(fluxNs, http.baseUrl);
    for (const o of objects) await applyFlux(o);
    for (const o of objects) await waitCondition(refOf(o), 'True', 90_000);
    const d = await client.get<KubeObject & { status?: { availableReplicas?: number } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: appNs, name: 'hello' });
    assert.equal(d?.status?.availableReplicas, 2, 'the quickstart Deployment is Available');
    assert.equal(d?.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'quickstart');
    assert.ok(await client.get({ apiVersion: 'v1', kind: 'Service', namespace: appNs, name: 'hello' }));

    // garbage collection as the chart identity: deleting the Kustomization prunes its namespace
    assert.deepEqual(await removeFluxObjects(), []);
    await eventually(
      async () => {
        const ns = await client.get<KubeObject>({ apiVersion: 'v1', kind: 'Namespace', name: appNs });
        return ns === undefined || ns.metadata.deletionTimestamp !== undefined;
      },
      20_000,
      `namespace ${appNs} pruned`,
    );
  } finally {
    await removeFluxObjects();
    await op.stop();
    await removeNamespaces(client, [appNs], 30_000);
  }
});

test('lockdown mode: tenants act as their own ServiceAccount; a cross-tenant write and a cross-namespace source are refused', async () => {
  const { client, namespace } = cluster.get();
  const release = await namespace('chart-lockdown');
  const platform = await namespace('chart-platform');
  const teamX = await namespace('team-x');
  const teamY = await namespace('team-y');
  const appNs = `hello-${suffix()}`;
  // team-x's default ServiceAccount may edit team-x, and nothing else
  await client.apply(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'default-edit', namespace: teamX },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: teamX }],
    } as KubeObject,
    { fieldManager: FIELD_MANAGER },
  );
  await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'precious', namespace: teamY }, data: { owner: 'team-y' } } as KubeObject);
  const precious = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamY, name: 'precious' });

  // the platform namespace stands in for flux-system (shared by the whole test run)
  const installed = await installChart(release, `flotilla-${suffix()}`, { multitenancy: { enabled: true, platformServiceAccounts: { namespaces: [platform] } } });
  const cfg = resolveConfig(installed.flags, {});
  assert.equal(cfg.noCrossNamespaceRefs, true, 'multitenancy.enabled renders --no-cross-namespace-refs');
  assert.equal(cfg.noRemoteBases, true, 'multitenancy.enabled renders --no-remote-bases');
  assert.equal(cfg.defaultServiceAccount, 'default', 'multitenancy.enabled renders --default-service-account=default');
  assert.equal(cfg.enableLeaderElection, true);
  // the controller's own identity cannot write into a tenant namespace: only impersonation can
  const asController = KubeClient.fromFile(installed.kubeconfig);
  try {
    await assert.rejects(
      asController.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'probe', namespace: teamY } } as KubeObject, { dryRun: true }),
      /forbidden/i,
      'in lockdown mode the chart does not give the controller write access to tenant namespaces',
    );
  } finally {
    asController.close();
  }

  const cm = (name: string, ns: string, owner: string): string => stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { owner } });
  const { root, http } = await gitServer();
  await createRepo(root, 'own', { 'own.yaml': cm('own', teamX, 'team-x') });
  await createRepo(root, 'intrude', { 'precious.yaml': cm('precious', teamY, 'team-x'), 'planted.yaml': cm('planted', teamY, 'team-x') });
  await createRepo(root, 'shared', { 'shared.yaml': cm('shared', teamY, 'team-y') });
  await createRepo(root, 'quickstart', await quickstartRepo(appNs));

  const op = await runOperator(installed, release);
  try {
    const lease = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: release, name: 'flotilla-leader-election' });
    assert.equal(lease?.spec?.holderIdentity, `test-${release}`);

    const ks = (ns: string, name: string): ObjectRef => ({ apiVersion: KS, kind: 'Kustomization', namespace: ns, name });
    await applyFlux(gitRepository(teamX, 'own', http.url('own')));
    await applyFlux(kustomization(teamX, 'own', { sourceRef: { kind: 'GitRepository', name: 'own' } }));
    await applyFlux(gitRepository(teamX, 'intrude', http.url('intrude')));
    await applyFlux(kustomization(teamX, 'intrude', { sourceRef: { kind: 'GitRepository', name: 'intrude' } }));
    await applyFlux(gitRepository(teamY, 'shared', http.url('shared')));
    await applyFlux(kustomization(teamX, 'borrow', { sourceRef: { kind: 'GitRepository', name: 'shared', namespace: teamY } }));
    // a Flux multi-tenancy repository's platform object: kustomize-controller means the controller itself
    const platformObjects = await quickstartFlux(platform, http.baseUrl, (o) => {
      if (o.kind === 'Kustomization') (o['spec'] as Record<string, unknown>)['serviceAccountName'] = 'kustomize-controller';
    });
    for (const o of platformObjects) await applyFlux(o);

    const own = await waitCondition(ks(teamX, 'own'), 'True');
    const ownCm = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamX, name: 'own' });
    assert.equal(ownCm?.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'own');

    const refused = readyCondition(await waitCondition(ks(teamX, 'intrude'), 'False'));
    assert.ok(refused);
    assert.match(refused.message, new RegExp(`ConfigMap/${teamY}/(precious|planted)`), 'the message names the refused object');
    assert.match(refused.message, /forbidden/i);
    assert.match(refused.message, new RegExp(`system:serviceaccount:${teamX}:default`), 'the message names the identity used');

    await waitCondition({ apiVersion: GIT, kind: 'GitRepository', namespace: teamY, name: 'shared' }, 'True');
    const borrow = readyCondition(await waitCondition(ks(teamX, 'borrow'), 'False'));
    assert.ok(borrow);
    assert.match(borrow.message, /cross-namespace/i);
    assert.equal(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamY, name: 'shared' }), undefined, 'the borrowed source applied nothing');

    for (const o of platformObjects) await waitCondition(refOf(o), 'True', 90_000);
    const d = await client.get<KubeObject & { status?: { availableReplicas?: number } }>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: appNs, name: 'hello' });
    assert.equal(d?.status?.availableReplicas, 2, 'the platform Kustomization reconciled the quickstart');

    // nothing in team-y was created or changed
    const after = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamY, name: 'precious' });
    assert.equal(after?.metadata.resourceVersion, precious?.metadata.resourceVersion, 'the other tenant’s ConfigMap is unchanged');
    assert.equal(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamY, name: 'planted' }), undefined, 'nothing was created in the other tenant’s namespace');
    const labelled = await client.list('v1', 'ConfigMap', { namespace: teamY, labelSelector: 'kustomize.toolkit.fluxcd.io/name' });
    assert.deepEqual(labelled.items.map((o) => o.metadata.name), [], 'no object in team-y is managed by a Kustomization');

    // the allowed tenant is untouched by its neighbour's failure
    const ownAgain = await waitCondition(ks(teamX, 'own'), 'True');
    assert.equal(ownAgain.status?.lastAppliedRevision, own.status?.lastAppliedRevision);

    // pruning as the tenant: deleting its Kustomization removes what it applied in its namespace
    assert.deepEqual(await removeFluxObjects(), []);
    assert.equal(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamX, name: 'own' }), undefined, 'the tenant’s ConfigMap was pruned');
    const stillPrecious = await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: teamY, name: 'precious' });
    assert.equal(stillPrecious?.metadata.resourceVersion, precious?.metadata.resourceVersion, 'deleting the refused Kustomization pruned nothing in team-y');
  } finally {
    await removeFluxObjects();
    await op.stop();
    await removeNamespaces(client, [appNs], 30_000);
  }
});
