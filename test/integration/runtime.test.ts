import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Informer } from '../../src/runtime/cache/informer.ts';
import { packageRoot } from '../../src/config/paths.ts';
import { freePort } from '../../src/cli/dev/control-plane.ts';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { StallingError, TransientError } from '../../src/runtime/errors.ts';
import { silentLogger } from '../../src/runtime/log/logger.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { Metrics } from '../../src/runtime/metrics/metrics.ts';
import type { FluxObject, ReconcilerDefinition } from '../../src/runtime/reconcile/types.ts';
import { eventually, useCluster } from '../harness/cluster.ts';

const cluster = useCluster();
const log = silentLogger();

const WIDGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.runtime.flotilla.test' },
  spec: {
    group: 'runtime.flotilla.test',
    names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
              status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      },
    ],
  },
};

async function ensureWidgetCrd(): Promise<void> {
  const { client } = cluster.get();
  await client.apply(WIDGET_CRD, { fieldManager: 'test', force: true });
  await eventually(async () => {
    const crd = await client.get<KubeObject & { status?: { conditions?: Array<{ type: string; status: string }> } }>({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      name: WIDGET_CRD.metadata.name,
    });
    return crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });
  client.mapper.invalidate();
}

test('informer lists, watches, and relists after a real 410 Gone', async () => {
  const { client, namespace, etcdUrl } = cluster.get();
  const ns = await namespace('informer');
  // PodTemplates: the harness serves their watches from etcd (no watch cache), so an etcd
  // compaction makes an old resourceVersion really gone
  const tpl = (name: string, shard: string, v = '1') => ({
    apiVersion: 'v1',
    kind: 'PodTemplate',
    metadata: { name, namespace: ns, labels: { shard }, annotations: { v } },
    template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } },
  });
  const ref = (name: string) => ({ apiVersion: 'v1', kind: 'PodTemplate', namespace: ns, name });
  await client.create(tpl('pre', 'a'));
  await client.create(tpl('other-shard', 'b'));

  const inf = new Informer(client, { apiVersion: 'v1', kind: 'PodTemplate', namespace: ns, labelSelector: 'shard=a' }, log);
  const seen: string[] = [];
  inf.on('add', (o) => seen.push(`add:${o.metadata.name}`));
  inf.on('update', (o) => seen.push(`update:${o.metadata.name}`));
  inf.on('delete', (o) => seen.push(`delete:${o.metadata.name}`));
  inf.start();
  try {
    await inf.synced;
    assert.deepEqual(inf.list().map((o) => o.metadata.name), ['pre'], 'the label selector keeps other shards out of the cache');

    await client.create(tpl('live', 'a'));
    await client.patch(ref('live'), { metadata: { annotations: { v: '2' } } });
    await eventually(() => seen.includes('update:live'), 10_000, 'watch update');
    assert.equal(inf.get(`${ns}/live`)?.metadata.annotations?.['v'], '2');

    // Changes while "disconnected", then etcd compacts past the informer's version: resuming
    // from it must get 410 Gone, relist, and emit the difference as events.
    const staleRv = inf.lastResourceVersion;
    await client.delete(ref('pre'));
    const added = await client.create(tpl('during-gap', 'a'));
    const res = await fetch(`${etcdUrl}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: added.metadata.resourceVersion, physical: true }) });
    assert.equal(res.status, 200, `etcd compaction: ${await res.text()}`);
    const listsBefore = inf.stats.lists;
    inf.resumeFrom(staleRv);
    await eventually(() => inf.stats.relistsAfterGone >= 1 && inf.stats.lists > listsBefore, 15_000, 'relist after 410');
    await eventually(() => inf.get(`${ns}/during-gap`) !== undefined && inf.get(`${ns}/pre`) === undefined, 10_000, 'cache caught up');
    assert.ok(seen.includes('delete:pre'), `events: ${seen.join(', ')}`);
    assert.ok(seen.includes('add:during-gap'));

    // and it keeps watching afterwards
    await client.create(tpl('after-relist', 'a'));
    await eventually(() => inf.get(`${ns}/after-relist`), 10_000, 'watch after relist');
  } finally {
    await inf.stop();
  }
});

interface Widget extends FluxObject {
  spec?: { interval?: string; mode?: string; suspend?: boolean };
}

test('reconciler contract: one status patch, conditions, lastHandledReconcileAt, events with revision, metrics', async () => {
  await ensureWidgetCrd();
  const { client, namespace } = cluster.get();
  const ns = await namespace('recon');
  const metrics = new Metrics({ processMetrics: false });
  const manager = new Manager({ client, log, metrics, concurrency: 2, namespace: ns, minRetryDelayMs: 200, maxRetryDelayMs: 1000 });
  let runs = 0;
  const def: ReconcilerDefinition<Widget, { revision: string }> = {
    apiVersion: 'runtime.flotilla.test/v1',
    kind: 'Widget',
    controllerName: 'widget-controller',
    finalizer: true,
    newState: () => ({ revision: '' }),
    steps: [
      {
        name: 'fetch',
        async run(ctx) {
          runs++;
          const mode = ctx.obj.spec?.mode;
          if (mode === 'stall') throw new StallingError('InvalidSpec', 'spec.mode "stall" is not allowed: use ok');
          if (mode === 'flaky') throw new TransientError('FetchFailed', 'upstream answered 503');
          ctx.state.revision = `main@sha1:${'a'.repeat(40)}`;
          ctx.status['artifact'] = { revision: ctx.state.revision };
          ctx.condition('ArtifactInStorage', 'True', 'Succeeded', 'stored');
          ctx.event('Normal', 'NewArtifact', 'stored artifact', { revision: ctx.state.revision });
        },
      },
    ],
    readyMessage: (ctx) => `stored artifact for revision '${ctx.state.revision}'`,
    intervalMs: () => 60_000,
  };
  manager.register({ name: 'widget', definition: def });
  await manager.start();
  try {
    const ref = { apiVersion: 'runtime.flotilla.test/v1', kind: 'Widget', namespace: ns, name: 'w1' };
    await client.create({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: 'w1', namespace: ns }, spec: { interval: '1m', mode: 'ok' } });
    const ready = await eventually(async () => {
      const w = await client.get<Widget>(ref);
      const c = w?.status?.conditions?.find((x) => x.type === 'Ready');
      return c?.status === 'True' ? w : undefined;
    }, 15_000, 'Ready=True');
    assert.equal(ready.status?.observedGeneration, 1);
    assert.deepEqual(ready.metadata.finalizers, ['finalizers.fluxcd.io']);
    assert.equal(ready.status?.conditions?.[0]?.type, 'Ready', 'Ready sorts first');
    assert.match(ready.status?.conditions?.[0]?.message ?? '', /stored artifact for revision 'main@sha1:a{40}'/);

    // requestedAt is echoed once handled
    await client.patch(ref, { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': 'now-1' } } });
    await eventually(async () => (await client.get<Widget>(ref))?.status?.lastHandledReconcileAt === 'now-1', 10_000, 'lastHandledReconcileAt');

    // events carry the revision under <group>/revision
    const events = await client.list('v1', 'Event', { namespace: ns });
    const newArtifact = events.items.find((e) => e['reason'] === 'NewArtifact');
    assert.ok(newArtifact, 'NewArtifact event written');
    assert.equal(newArtifact.metadata.annotations?.['runtime.flotilla.test/revision'], `main@sha1:${'a'.repeat(40)}`);
    assert.equal((newArtifact['source'] as { component: string }).component, 'widget-controller');

    // a stalling error: Ready=False, Stalled=True, a Warning event, no retries
    await client.patch(ref, { spec: { mode: 'stall' } });
    const stalled = await eventually(async () => {
      const w = await client.get<Widget>(ref);
      return w?.status?.conditions?.find((x) => x.type === 'Stalled' && x.status === 'True') ? w : undefined;
    }, 10_000, 'Stalled');
    const readyCond = stalled.status?.conditions?.find((x) => x.type === 'Ready');
    assert.equal(readyCond?.status, 'False');
    assert.equal(readyCond?.reason, 'InvalidSpec');
    assert.equal(stalled.status?.observedGeneration, 2);
    const runsAfterStall = runs;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(runs, runsAfterStall, 'a stalled object is not retried');
    const warn = (await client.list('v1', 'Event', { namespace: ns })).items.find((e) => e['type'] === 'Warning' && e['reason'] === 'InvalidSpec');
    assert.ok(warn, 'Warning event for the stalling error');

    // a transient error retries with backoff and keeps Reconciling=True
    await client.patch(ref, { spec: { mode: 'flaky' } });
    await eventually(async () => {
      const w = await client.get<Widget>(ref);
      return w?.status?.conditions?.find((x) => x.type === 'Reconciling' && x.reason === 'ProgressingWithRetry');
    }, 10_000, 'ProgressingWithRetry');
    const r0 = runs;
    await eventually(() => runs >= r0 + 2, 10_000, 'backoff retries');

    const text = await metrics.registry.metrics();
    assert.match(text, new RegExp(`gotk_reconcile_condition\\{kind="Widget",name="w1",namespace="${ns}",type="Ready",status="False"\\} 1`));
    assert.match(text, new RegExp(`gotk_reconcile_duration_seconds_bucket\\{le="[^"]+",kind="Widget",namespace="${ns}",name="w1"\\} [1-9]`));
    assert.match(text, new RegExp(`gotk_suspend_status\\{kind="Widget",name="w1",namespace="${ns}"\\} 0`));
    assert.match(text, /workqueue_adds_total\{name="widget"\} \d+/);
    assert.match(text, /controller_runtime_reconcile_errors_total\{controller="widget"\} [1-9]/);

    // suspend: no more runs
    await client.patch(ref, { spec: { suspend: true, mode: 'ok' } });
    await eventually(async () => (await metrics.registry.metrics()).includes(`gotk_suspend_status{kind="Widget",name="w1",namespace="${ns}"} 1`), 10_000, 'suspend metric');
    const r1 = runs;
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(runs, r1, 'suspended objects are not reconciled');

    // deletion runs the finalizer and lets the object go
    await client.delete(ref);
    await eventually(async () => (await client.get(ref)) === undefined, 10_000, 'deleted');
  } finally {
    await manager.stop();
  }
});

function startOperatorProcess(kubeconfig: string, identity: string, ports: { metrics: number; health: number }): ChildProcess {
  const root = packageRoot();
  return spawn(
    process.execPath,
    [
      '--import', 'tsx', path.join(root, 'src', 'cli.ts'), 'operator',
      '--kubeconfig', kubeconfig,
      '--enable-leader-election',
      '--leader-election-lease-duration', '4s', '--leader-election-renew-deadline', '3s', '--leader-election-retry-period', '500ms',
      '--metrics-addr', `127.0.0.1:${ports.metrics}`, '--health-addr', `127.0.0.1:${ports.health}`,
      '--storage-addr', '127.0.0.1:0', '--receiver-addr', '127.0.0.1:0', '--storage-path', path.join('/tmp', `flotilla-le-${identity}`),
      '--log-level', 'error',
    ],
    { env: { ...process.env, POD_NAME: identity, RUNTIME_NAMESPACE: leaseNamespace }, stdio: 'ignore' },
  );
}

let leaseNamespace = '';

test('leader election: a standby takes over within the lease duration after the leader is killed', async () => {
  const { client, kubeconfigPath, namespace } = cluster.get();
  leaseNamespace = await namespace('lease');
  const a = { metrics: await freePort(), health: await freePort() };
  const b = { metrics: await freePort(), health: await freePort() };
  const pa = startOperatorProcess(kubeconfigPath, 'op-a', a);
  const pb = startOperatorProcess(kubeconfigPath, 'op-b', b);
  const procs = { 'op-a': pa, 'op-b': pb } as Record<string, ChildProcess>;
  const ports = { 'op-a': a, 'op-b': b } as Record<string, { metrics: number }>;
  const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: leaseNamespace, name: 'flotilla-leader-election' };
  const holder = async (): Promise<string | undefined> =>
    ((await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(leaseRef))?.spec?.holderIdentity) || undefined;
  try {
    const first = await eventually(holder, 30_000, 'a leader');
    const second = first === 'op-a' ? 'op-b' : 'op-a';
    const leaderMetric = async (id: string): Promise<string | undefined> => {
      const res = await fetch(`http://127.0.0.1:${ports[id]?.metrics}/metrics`).catch(() => undefined);
      return (await res?.text())?.match(/leader_election_master_status\{name="flotilla-leader-election"\} (\d)/)?.[1];
    };
    await eventually(async () => (await leaderMetric(first)) === '1', 15_000, 'leader metric');
    await eventually(async () => (await leaderMetric(second)) === '0', 15_000, 'the standby reports it does not lead');
    // the metrics endpoint shows Flux's metric families
    const text = await (await fetch(`http://127.0.0.1:${ports[first]?.metrics}/metrics`)).text();
    assert.match(text, /# TYPE gotk_reconcile_duration_seconds histogram/);
    assert.match(text, /# TYPE gotk_reconcile_condition gauge/);
    assert.match(text, /# TYPE gotk_suspend_status gauge/);
    // controller-runtime's client metric: the lease and informer requests are counted
    assert.match(text, /^rest_client_requests_total\{code="200",method="GET",host="127\.0\.0\.1:\d+"\} [1-9]\d*$/m);

    const killedAt = Date.now();
    procs[first]?.kill('SIGKILL');
    await eventually(async () => (await holder()) === second, 15_000, 'takeover');
    const took = Date.now() - killedAt;
    assert.ok(took < 4000 + 2000, `takeover took ${took}ms, lease is 4s`);
    await eventually(async () => (await leaderMetric(second)) === '1', 10_000, 'new leader metric');
  } finally {
    pa.kill('SIGKILL');
    pb.kill('SIGKILL');
  }
});
