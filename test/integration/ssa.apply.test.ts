/**
 * Staged server-side apply against the real control plane: stages, actions, the no-op
 * fast path (counted in real HTTP requests), drift correction, per-object annotations,
 * immutable fields and impersonation errors.
 */
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../src/runtime/client/client.ts';
import type { KubeObject, ObjectRef } from '../../src/runtime/client/objects.ts';
import type { RequestOptions, Transport } from '../../src/runtime/client/transport.ts';
import { ApplyError, AppliedCache, applyAll, requestCount, SsaApplier, type ApplyAllOptions, type DriftCheck } from '../../src/services/ssa/index.ts';
import { eventually, useCluster } from '../harness/cluster.ts';

const cluster = useCluster();

/** Counts the HTTP requests that really leave the process, by method (dry-runs apart). */
class RequestCounter {
  counts: Record<string, number> = {};
  /** Wraps the transport's request method; the requests themselves are real. */
  attach(transport: Transport): void {
    const send = transport.request.bind(transport);
    transport.request = (<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> => {
      const key = method === 'PATCH' && opts.query?.['dryRun'] ? 'DRYRUN' : method;
      this.counts[key] = (this.counts[key] ?? 0) + 1;
      return send<T>(method, path, opts);
    }) as Transport['request'];
  }
  reset(): void {
    this.counts = {};
  }
  get writes(): number {
    return (this.counts['PATCH'] ?? 0) + (this.counts['POST'] ?? 0) + (this.counts['PUT'] ?? 0) + (this.counts['DELETE'] ?? 0);
  }
  get total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }
}

const counting = new RequestCounter();
let client: KubeClient;

// root-level before hooks run concurrently on Node 20, so the client is built on first use
function setUp(): void {
  if (client) return;
  client = KubeClient.fromFile(cluster.get().kubeconfigPath, { qps: 0 });
  counting.attach(client.transport);
}
beforeEach(setUp);
after(() => client?.close());

const OWNER = { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };

function opts(extra: Partial<ApplyAllOptions> = {}): ApplyAllOptions {
  return { fieldManager: 'kustomize-controller', ownerLabels: OWNER, concurrency: 8, ...extra };
}

const cm = (ns: string, name: string, data: Record<string, string>, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, ...meta },
  data,
});

const service = (ns: string, name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: ns, ...meta },
  // no protocol: the 1.20 API server refuses such an apply unless it is defaulted first
  spec: { ports: [{ port: 80, targetPort: 8080 }], selector: { app: name }, ...spec },
});

const deployment = (ns: string, name: string, image = 'nginx:1'): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] } },
  },
});

const ref = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });

function actions(res: { changeSet: Array<{ subject: string; action: string }> }): Record<string, string> {
  return Object.fromEntries(res.changeSet.map((e) => [e.subject, e.action]));
}

test('a CRD, a Namespace and a custom resource of both are applied in one call', async () => {
  const suffix = randomBytes(3).toString('hex');
  const group = `ssa${suffix}.flotilla.test`;
  const ns = `ssa-crd-${suffix}`;
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `gadgets.${group}` },
    spec: {
      group,
      names: { kind: 'Gadget', plural: 'gadgets', singular: 'gadget', listKind: 'GadgetList' },
      scope: 'Namespaced',
      versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  const gadget: KubeObject = { apiVersion: `${group}/v1`, kind: 'Gadget', metadata: { name: 'g1', namespace: ns }, spec: { size: 3 } };
  const namespace: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
  try {
    // the custom resource first in the input: staging, not input order, makes this work
    const res = await applyAll(client, [gadget, namespace, crd], opts());
    assert.deepEqual(
      res.changeSet.map((e) => `${e.subject} ${e.action}`),
      [`CustomResourceDefinition/gadgets.${group} created`, `Namespace/${ns} created`, `Gadget/${ns}/g1 created`],
    );
    assert.deepEqual(
      res.inventory.map((e) => e.id),
      [`_gadgets.${group}_apiextensions.k8s.io_CustomResourceDefinition`, `_${ns}__Namespace`, `${ns}_g1_${group}_Gadget`],
    );
    const live = await client.get(ref(gadget));
    assert.equal((live?.['spec'] as { size: number }).size, 3);
    assert.equal(live?.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], 'apps');
    assert.equal(live?.metadata.labels?.['kustomize.toolkit.fluxcd.io/namespace'], 'flux-system');
  } finally {
    await client.delete(ref(crd)).catch(() => undefined);
    await client.delete(ref(namespace)).catch(() => undefined);
  }
});

for (const driftCheck of ['dryRun', 'apply'] as DriftCheck[]) {
  test(`create, configure, then unchanged without writes (driftCheck: ${driftCheck})`, async (t) => {
    const ns = await cluster.get().namespace('ssa-life');
    const cache = new AppliedCache();
    const o = opts({ cache, driftCheck });
    const objects = [cm(ns, 'settings', { a: '1' }), service(ns, 'web'), deployment(ns, 'web')];

    const created = await applyAll(client, objects, o);
    assert.deepEqual(actions(created), { [`ConfigMap/${ns}/settings`]: 'created', [`Service/${ns}/web`]: 'created', [`Deployment/${ns}/web`]: 'created' });
    assert.equal(created.changed, true);
    assert.deepEqual(created.lines, [`ConfigMap/${ns}/settings created`, `Service/${ns}/web created`, `Deployment/${ns}/web created`]);
    const svc = await client.get(ref(objects[1] as KubeObject));
    assert.equal((svc?.['spec'] as { ports: Array<{ protocol: string }> }).ports[0]?.protocol, 'TCP');

    // the Deployment controller writes status once after creation; let it settle
    await eventually(async () => {
      const d = await client.get(ref(objects[2] as KubeObject));
      const st = d?.['status'] as { observedGeneration?: number; conditions?: unknown[] } | undefined;
      return st?.observedGeneration === d?.metadata.generation && (st?.conditions?.length ?? 0) >= 2;
    });
    await new Promise((r) => setTimeout(r, 300));
    const versions = async (): Promise<string[]> => Promise.all(objects.map(async (x) => (await client.get(ref(x)))?.metadata.resourceVersion ?? ''));
    const before = await versions();
    const again = await applyAll(client, objects, o);
    assert.ok(Object.values(actions(again)).every((a) => a === 'unchanged'), JSON.stringify(actions(again)));
    assert.equal(again.changed, false);
    assert.deepEqual(again.lines, []);
    assert.deepEqual(await versions(), before, 'nothing was rewritten');

    // now everything is in the cache with its current resourceVersion: no apply request at all
    counting.reset();
    const settled = await applyAll(client, objects, o);
    assert.ok(settled.changeSet.every((e) => e.action === 'unchanged'));
    assert.equal(settled.stats.cacheHits, 3);
    assert.equal(counting.counts['PATCH'] ?? 0, 0, `no PATCH: ${JSON.stringify(counting.counts)}`);
    assert.equal(counting.counts['DRYRUN'] ?? 0, 0, `no dry-run: ${JSON.stringify(counting.counts)}`);
    assert.equal(counting.writes, 0);
    t.diagnostic(`unchanged re-apply of 3 objects: ${JSON.stringify(counting.counts)} stats ${JSON.stringify(settled.stats)}`);

    counting.reset();
    const changed = [cm(ns, 'settings', { a: '2' }), ...objects.slice(1)];
    const configured = await applyAll(client, changed, o);
    assert.equal(actions(configured)[`ConfigMap/${ns}/settings`], 'configured');
    assert.equal(actions(configured)[`Service/${ns}/web`], 'unchanged');
    assert.deepEqual(configured.lines, [`ConfigMap/${ns}/settings configured`]);
    assert.equal(counting.counts['PATCH'], 1, `only the changed object is applied: ${JSON.stringify(counting.counts)}`);
    assert.deepEqual((await client.get(ref(changed[0] as KubeObject)))?.['data'], { a: '2' });

    // a restarted operator has no cache: still unchanged, nothing rewritten
    const beforeCold = await Promise.all(changed.map(async (x) => (await client.get(ref(x)))?.metadata.resourceVersion));
    counting.reset();
    const cold = await applyAll(client, changed, opts({ driftCheck }));
    assert.ok(Object.values(actions(cold)).every((a) => a === 'unchanged'), JSON.stringify(actions(cold)));
    assert.deepEqual(await Promise.all(changed.map(async (x) => (await client.get(ref(x)))?.metadata.resourceVersion)), beforeCold);
    if (driftCheck === 'dryRun') assert.equal(counting.writes, 0, JSON.stringify(counting.counts));
  });
}

test('a no-op re-apply of 50 objects costs one list per kind and namespace, no per-object request', async (t) => {
  const ns = await cluster.get().namespace('ssa-noop');
  const objects: KubeObject[] = [];
  for (let i = 0; i < 20; i++) objects.push(cm(ns, `cm-${i}`, { i: String(i) }));
  for (let i = 0; i < 15; i++) objects.push(service(ns, `svc-${i}`));
  for (let i = 0; i < 15; i++) objects.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: `s-${i}`, namespace: ns }, stringData: { token: `t${i}` } });
  for (const driftCheck of ['dryRun', 'apply'] as DriftCheck[]) {
    const cache = new AppliedCache();
    const o = opts({ cache, driftCheck, ownerLabels: { ...OWNER, 'kustomize.toolkit.fluxcd.io/name': `noop-${driftCheck}` } });
    counting.reset();
    let started = performance.now();
    const first = await applyAll(client, objects, o);
    const firstMs = performance.now() - started;
    const firstCounts = { ...counting.counts };
    assert.equal(first.changeSet.length, 50);

    counting.reset();
    started = performance.now();
    const noop = await applyAll(client, objects, o);
    const noopMs = performance.now() - started;
    assert.ok(noop.changeSet.every((e) => e.action === 'unchanged'));
    assert.equal(noop.stats.cacheHits, 50);
    assert.equal(counting.total, 3, `three kinds in one namespace: three metadata lists, nothing else: ${JSON.stringify(counting.counts)}`);
    assert.equal(requestCount(noop.stats), 3);

    const versions = async (): Promise<string> => (await client.listMetadata('v1', 'ConfigMap', { namespace: ns })).items.map((i) => i.metadata.resourceVersion).join();
    const before = await versions();
    counting.reset();
    started = performance.now();
    const cold = await applyAll(client, objects, opts({ driftCheck, ownerLabels: o.ownerLabels }));
    const coldMs = performance.now() - started;
    assert.ok(cold.changeSet.every((e) => e.action === 'unchanged'));
    // without the cache `apply` mode sends the applies, and the server finds nothing to write
    if (driftCheck === 'dryRun') assert.equal(counting.writes, 0);
    assert.equal(await versions(), before);
    t.diagnostic(
      `${driftCheck}: first apply ${firstMs.toFixed(0)} ms ${JSON.stringify(firstCounts)}; ` +
        `no-op ${noopMs.toFixed(0)} ms, ${requestCount(noop.stats)} requests; ` +
        `no-op without cache ${coldMs.toFixed(0)} ms ${JSON.stringify(counting.counts)}`,
    );
  }
});

test('drift from kubectl edit is corrected, fields kubectl added are removed', async () => {
  const ns = await cluster.get().namespace('ssa-drift');
  const cache = new AppliedCache();
  const desired = cm(ns, 'settings', { a: '1' });
  await applyAll(client, [desired], opts({ cache }));
  await client.patch(ref(desired), { metadata: { labels: { hand: 'made' } }, data: { a: 'edited', extra: 'x' } }, { type: 'merge', fieldManager: 'kubectl-edit' });

  const res = await applyAll(client, [desired], opts({ cache }));
  assert.deepEqual(res.lines, [`ConfigMap/${ns}/settings configured`]);
  const live = await client.get(ref(desired));
  assert.deepEqual(live?.['data'], { a: '1' });
  assert.equal(live?.metadata.labels?.['hand'], undefined);
  const managers = (live?.metadata['managedFields'] as Array<{ manager: string }>).map((m) => m.manager);
  assert.deepEqual(managers, ['kustomize-controller']);
});

test('ssa annotations: Ignore, IfNotPresent, Merge, and reconcile: disabled on the live object', async () => {
  const ns = await cluster.get().namespace('ssa-annot');
  const ann = (v: string) => ({ annotations: { 'kustomize.toolkit.fluxcd.io/ssa': v } });

  const ignored = cm(ns, 'ignored', { a: '1' }, ann('Ignore'));
  const once = cm(ns, 'once', { a: '1' }, ann('IfNotPresent'));
  const merged = cm(ns, 'merged', { a: '1' }, ann('Merge'));
  const paused = cm(ns, 'paused', { a: '1' });
  const first = await applyAll(client, [ignored, once, merged, paused], opts());
  assert.deepEqual(actions(first), {
    [`ConfigMap/${ns}/ignored`]: 'skipped',
    [`ConfigMap/${ns}/merged`]: 'created',
    [`ConfigMap/${ns}/once`]: 'created',
    [`ConfigMap/${ns}/paused`]: 'created',
  });
  assert.equal(await client.get(ref(ignored)), undefined, 'Ignore: never applied');
  assert.ok(first.inventory.some((e) => e.id === `${ns}_ignored__ConfigMap`), 'skipped objects stay in the inventory, as in Flux');

  await client.patch(ref(merged), { data: { extra: 'kept' } }, { type: 'merge', fieldManager: 'kubectl-edit' });
  await client.patch(ref(paused), { metadata: { annotations: { 'kustomize.toolkit.fluxcd.io/reconcile': 'disabled' } }, data: { a: 'hand' } }, { type: 'merge', fieldManager: 'kubectl-edit' });

  const second = await applyAll(client, [ignored, cm(ns, 'once', { a: 'changed' }, ann('IfNotPresent')), merged, cm(ns, 'paused', { a: '2' })], opts());
  assert.equal(actions(second)[`ConfigMap/${ns}/once`], 'skipped', 'IfNotPresent: an existing object is left as it is');
  assert.deepEqual((await client.get(ref(once)))?.['data'], { a: '1' });
  assert.equal(actions(second)[`ConfigMap/${ns}/merged`], 'unchanged');
  assert.deepEqual((await client.get(ref(merged)))?.['data'], { a: '1', extra: 'kept' }, 'Merge: fields of other managers are not taken over');
  assert.equal(actions(second)[`ConfigMap/${ns}/paused`], 'skipped', 'reconcile: disabled on the live object');
  assert.deepEqual((await client.get(ref(paused)))?.['data'], { a: 'hand' });
});

test('immutable fields: a clear error without force; recreated with the force annotation or spec.force', async () => {
  const ns = await cluster.get().namespace('ssa-immut');
  // inside the harness's service range 10.96.0.0/12
  const ip = (): string => `10.${100 + ((randomBytes(1)[0] ?? 0) % 10)}.${randomBytes(1)[0] ?? 1}.${1 + ((randomBytes(1)[0] ?? 0) % 250)}`;
  const first = ip();
  await applyAll(client, [service(ns, 'svc', { clusterIP: first })], opts());

  const second = ip();
  await assert.rejects(
    applyAll(client, [service(ns, 'svc', { clusterIP: second })], opts()),
    (e: unknown) => {
      assert.ok(e instanceof ApplyError, String(e));
      assert.match(e.message, new RegExp(`^Service/${ns}/svc dry-run failed \\(Invalid\\): .*may not change once set`));
      assert.match(e.message, /immutable field spec\.clusterIPs\[0\]/);
      assert.match(e.message, /kustomize\.toolkit\.fluxcd\.io\/force: enabled/);
      return true;
    },
  );
  const forced = await applyAll(client, [service(ns, 'svc', { clusterIP: second }, { annotations: { 'kustomize.toolkit.fluxcd.io/force': 'enabled' } })], opts());
  assert.deepEqual(forced.lines, [`Service/${ns}/svc created`]);
  assert.equal(((await client.get(ref(service(ns, 'svc'))))?.['spec'] as { clusterIP: string }).clusterIP, second);

  const job = (image: string): KubeObject => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'migrate', namespace: ns },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'm', image }] } } },
  });
  await applyAll(client, [job('busybox:1')], opts());
  const oldUid = (await client.get(ref(job('x'))))?.metadata.uid;
  for (const driftCheck of ['dryRun', 'apply'] as DriftCheck[]) {
    await assert.rejects(applyAll(client, [job(`busybox:${driftCheck}`)], opts({ driftCheck })), /Job\/.*\/migrate .*field is immutable.*enable force/);
  }
  // a stage with an object the server refuses is not applied: the old Job is not deleted either
  const invalid: KubeObject = { ...deployment(ns, 'broken'), spec: { selector: { matchLabels: { app: 'a' } }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } } };
  await assert.rejects(applyAll(client, [job('busybox:9'), invalid], opts({ force: true })), /Deployment\/.*\/broken dry-run failed \(Invalid\)/);
  assert.equal((await client.get(ref(job('x'))))?.metadata.uid, oldUid);

  let uid = oldUid;
  for (const [driftCheck, image] of [['apply', 'busybox:2'], ['dryRun', 'busybox:3']] as Array<[DriftCheck, string]>) {
    const recreated = await applyAll(client, [job(image)], opts({ force: true, driftCheck }));
    assert.deepEqual(recreated.lines, [`Job/${ns}/migrate created`]);
    const live = await client.get(ref(job('x')));
    assert.notEqual(live?.metadata.uid, uid, `${driftCheck}: a new object`);
    uid = live?.metadata.uid;
    assert.equal((live?.['spec'] as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec.containers[0]?.image, image);
  }
});

test('an impersonated tenant without RBAC gets an error naming the object and the permission', async () => {
  const admin = cluster.get().client;
  const home = await cluster.get().namespace('ssa-team-a');
  const foreign = await cluster.get().namespace('ssa-team-b');
  await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: home } });
  // may write ConfigMaps at home, but not list them: lookups must fall back to GETs
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'deployer', namespace: home },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch', 'update'] }],
  });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'deployer', namespace: home },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: home }],
  });
  const user = `system:serviceaccount:${home}:deployer`;
  const tenant = client.impersonate({ user, groups: ['system:serviceaccounts', `system:serviceaccounts:${home}`, 'system:authenticated'] });

  const allowed = await applyAll(tenant, [cm(home, 'a', { x: '1' }), cm(home, 'b', { x: '1' })], opts({ cache: new AppliedCache() }));
  assert.deepEqual(allowed.lines, [`ConfigMap/${home}/a created`, `ConfigMap/${home}/b created`]);

  await assert.rejects(
    applyAll(tenant, [cm(home, 'c', { x: '1' }), deployment(foreign, 'web')], opts()),
    (e: unknown) => {
      assert.ok(e instanceof ApplyError, String(e));
      assert.equal(e.reason, 'ReconciliationFailed');
      assert.equal(e.forbidden, true);
      assert.equal(e.failures.length, 1);
      assert.match(e.message, new RegExp(`^Deployment/${foreign}/web (query|dry-run) failed \\(Forbidden\\): `));
      assert.ok(e.message.includes(`User "${user}" cannot get resource "deployments" in API group "apps" in the namespace "${foreign}"`), e.message);
      return true;
    },
  );
});

test('objects the server cannot place are refused with a clear message', async () => {
  const ns = await cluster.get().namespace('ssa-bad');
  await assert.rejects(applyAll(client, [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'floating' }, data: {} }], opts()), /ConfigMap\/floating namespace not specified/);
  await assert.rejects(
    applyAll(client, [{ apiVersion: 'nothing.flotilla.test/v1', kind: 'Thing', metadata: { name: 't', namespace: ns } }], opts()),
    /Thing\/.*\/t dry-run failed: no matches for kind "Thing" in version "nothing.flotilla.test\/v1"/,
  );
  // a cluster-scoped object that a kustomize namespace transformer gave a namespace is applied cluster-wide
  const name = `ssa-ns-${randomBytes(3).toString('hex')}`;
  try {
    const res = await applyAll(client, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name, namespace: ns } }], opts());
    assert.deepEqual(res.inventory, [{ id: `_${name}__Namespace`, v: 'v1' }]);
  } finally {
    await client.delete({ apiVersion: 'v1', kind: 'Namespace', name }).catch(() => undefined);
  }
});

test('SsaApplier keeps one cache per owner and identity across reconciles', async () => {
  const ns = await cluster.get().namespace('ssa-applier');
  const applier = new SsaApplier({ fieldManager: 'kustomize-controller', concurrency: 4, driftCheck: 'apply' });
  const call = { force: false, ownerLabels: OWNER, identity: 'system:serviceaccount:flux-system:kustomize-controller' };
  const objects = [cm(ns, 'a', { v: '1' }), cm(ns, 'b', { v: '1' })];
  const first = await applier.apply(client, objects, call);
  assert.equal(first.changed, true);
  assert.deepEqual(first.changeSet, [`ConfigMap/${ns}/a created`, `ConfigMap/${ns}/b created`]);
  const second = await applier.apply(client, objects, call);
  assert.equal(second.changed, false);
  assert.equal(second.result.stats.cacheHits, 2);
  const otherIdentity = await applier.apply(client, objects, { ...call, identity: 'someone-else' });
  assert.equal(otherIdentity.result.stats.cacheHits, 0, 'another identity or cluster does not share the cache');

  const third = await applier.apply(client, [cm(ns, 'a', { v: '1' })], call);
  const stale = applier.stale(second.entries, third.entries);
  assert.deepEqual(stale, [{ id: `${ns}_b__ConfigMap`, v: 'v1' }]);
  assert.deepEqual(await applier.prune(client, stale, OWNER), [`ConfigMap/${ns}/b deleted`]);
  const health = await applier.health(client, third.entries, 5000);
  assert.equal(health.healthy, true, health.message);
});
