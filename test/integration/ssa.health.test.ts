/**
 * Health checks (kstatus) against the real control plane: Deployments, Jobs, custom
 * resources with Ready/Stalled conditions (Flux's own kinds behave the same), missing
 * objects, and Flux's failure messages.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FakeKubelet } from '../../src/cli/dev/fake-kubelet.ts';
import type { KubeObject, ObjectRef } from '../../src/runtime/client/objects.ts';
import { silentLogger } from '../../src/runtime/log/logger.ts';
import { applyAll, checkHealth, jobsWithTTL, type ApplyAllOptions } from '../../src/services/ssa/index.ts';
import { eventually, useCluster } from '../harness/cluster.ts';

const cluster = useCluster();
let kubelet: FakeKubelet | undefined;

/** test/run.ts runs a fake kubelet for the whole run; a file run alone brings its own. */
async function ensureKubelet(): Promise<void> {
  if (kubelet || process.env['FLOTILLA_TEST_KUBECONFIG']) return;
  kubelet = new FakeKubelet(cluster.get().client, silentLogger());
  await kubelet.start();
}
after(async () => {
  await kubelet?.stop();
});

const OWNER = { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };
const applyOpts: ApplyAllOptions = { fieldManager: 'kustomize-controller', ownerLabels: OWNER };
const ref = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });

const deployment = (ns: string, name: string, replicas: number): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'nginx' }] } },
  },
});

test('Deployments become Current: zero replicas at once, one replica once its pod is ready', async () => {
  await ensureKubelet();
  const ns = await cluster.get().namespace('ssa-health');
  const { client } = cluster.get();
  // pods are created only once the namespace's default ServiceAccount exists
  await eventually(() => client.get({ apiVersion: 'v1', kind: 'ServiceAccount', name: 'default', namespace: ns }), 30_000, 'default ServiceAccount');
  const zero = deployment(ns, 'idle', 0);
  const one = deployment(ns, 'web', 1);
  await applyAll(client, [zero, one], applyOpts);
  const report = await checkHealth(client, [ref(zero), ref(one)], { timeoutMs: 45_000, pollMs: 1000 });
  assert.equal(report.healthy, true, report.message);
  assert.deepEqual(
    report.results.map((r) => [r.subject, r.status]),
    [
      [`Deployment/${ns}/idle`, 'Current'],
      [`Deployment/${ns}/web`, 'Current'],
    ],
  );
  assert.equal(report.message, '');
});

test('Jobs: started is Current, Failed fails early with Flux\'s message, deleted TTL Jobs count as done', async () => {
  const ns = await cluster.get().namespace('ssa-jobs');
  const { client } = cluster.get();
  const job = (name: string, extra: Record<string, unknown> = {}): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: ns },
    spec: { ...extra, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'busybox' }] } } },
  });
  const running = job('running');
  const broken = job('broken');
  await applyAll(client, [running, broken], applyOpts);
  const ok = await checkHealth(client, [ref(running)], { timeoutMs: 20_000, pollMs: 500 });
  assert.equal(ok.healthy, true, ok.message);

  const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  await client.patchStatus(ref(broken), { failed: 1, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'too many failures', lastProbeTime: now, lastTransitionTime: now }] }, 'test');
  const started = performance.now();
  const bad = await checkHealth(client, [ref(running), ref(broken)], { timeoutMs: 30_000, pollMs: 1000 });
  assert.equal(bad.healthy, false);
  assert.ok(performance.now() - started < 10_000, 'a Failed object ends the wait early');
  assert.equal(bad.message, `failed early due to stalled resources: [Job/${ns}/broken status: 'Failed']`);
  assert.equal(bad.results.find((r) => r.subject === `Job/${ns}/broken`)?.message, 'Job Failed. failed: 1/1');

  const ttl = job('cleanup', { ttlSecondsAfterFinished: 0 });
  const ids = jobsWithTTL([ttl]);
  const gone = await checkHealth(client, [ref(ttl)], { timeoutMs: 2000, pollMs: 200, jobsWithTTL: ids });
  assert.equal(gone.healthy, true, 'a TTL Job that is already gone has completed');
});

test('custom resources: Ready=True is Current; Ready=False times out; Stalled fails; missing objects are named', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('ssa-cr');
  const group = `health${randomBytes(3).toString('hex')}.flotilla.test`;
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `releases.${group}` },
    spec: {
      group,
      names: { kind: 'Release', plural: 'releases', singular: 'release', listKind: 'ReleaseList' },
      scope: 'Namespaced',
      versions: [{ name: 'v1', served: true, storage: true, subresources: { status: {} }, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  const release = (name: string): KubeObject => ({ apiVersion: `${group}/v1`, kind: 'Release', metadata: { name, namespace: ns }, spec: { chart: name } });
  try {
    const applied = await applyAll(client, [crd, release('ready'), release('waiting'), release('stalled')], applyOpts);
    assert.equal(applied.changeSet.length, 4);
    const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') });
    // as a Flux controller reports: observedGeneration plus conditions
    await client.patchStatus(ref(release('ready')), { observedGeneration: 1, conditions: [cond('Ready', 'True', 'InstallSucceeded', 'ok')] }, 'test');
    await client.patchStatus(ref(release('waiting')), { observedGeneration: 1, conditions: [cond('Ready', 'False', 'Progressing', 'installing')] }, 'test');
    await client.patchStatus(
      ref(release('stalled')),
      { observedGeneration: 1, conditions: [cond('Ready', 'False', 'InvalidChartReference', 'no such chart'), cond('Stalled', 'True', 'InvalidChartReference', 'no such chart')] },
      'test',
    );

    const ready = await checkHealth(client, [ref(release('ready')), ref(crd)], { timeoutMs: 5000, pollMs: 200 });
    assert.equal(ready.healthy, true, ready.message);

    const missing: ObjectRef = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'nowhere', namespace: ns };
    const timedOut = await checkHealth(client, [ref(release('ready')), ref(release('waiting')), missing], { timeoutMs: 1200, pollMs: 300 });
    assert.equal(timedOut.healthy, false);
    assert.equal(timedOut.timedOut, true);
    assert.equal(timedOut.message, `timeout waiting for: [Release/${ns}/waiting status: 'InProgress', Deployment/${ns}/nowhere status: 'NotFound']`);

    const stalled = await checkHealth(client, [ref(release('stalled'))], { timeoutMs: 20_000, pollMs: 1000 });
    assert.equal(stalled.healthy, false);
    assert.equal(stalled.timedOut, false);
    assert.equal(stalled.message, `failed early due to stalled resources: [Release/${ns}/stalled status: 'Failed']`);
    assert.equal(stalled.results[0]?.message, 'no such chart');

    // a new generation that the controller has not seen yet is InProgress again
    await client.patch(ref(release('ready')), { spec: { chart: 'v2' } });
    const stale = await checkHealth(client, [ref(release('ready'))], { timeoutMs: 600, pollMs: 200 });
    assert.equal(stale.results[0]?.status, 'InProgress');
    assert.match(stale.results[0]?.message ?? '', /generation is 2, but latest observed generation is 1/);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const canceled = await checkHealth(client, [ref(release('waiting'))], { timeoutMs: 30_000, pollMs: 5000, signal: controller.signal });
    assert.equal(canceled.canceled, true);
    assert.match(canceled.message, /^health check canceled while waiting for: \[Release\/.*\/waiting status: 'InProgress'\]$/);
  } finally {
    await client.delete(ref(crd)).catch(() => undefined);
  }
});
