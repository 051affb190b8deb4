/**
 * Prune and deleteAll against the real control plane: only objects that left the build,
 * still carry the owner labels and are not opted out; reverse apply order; survivors.
 */
import { after, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { KubeClient } from '../../src/runtime/client/client.ts';
import type { KubeObject, ObjectRef } from '../../src/runtime/client/objects.ts';
import type { RequestOptions, Transport } from '../../src/runtime/client/transport.ts';
import { applyAll, deleteAll, diffInventory, prune, PruneError, type ApplyAllOptions } from '../../src/services/ssa/index.ts';
import { useCluster } from '../harness/cluster.ts';

const cluster = useCluster();

/** Records the paths of DELETE requests in the order they were sent (the requests are real). */
const recording = { deletes: [] as string[] };
let client: KubeClient;

// root-level before hooks run concurrently on Node 20, so the client is built on first use
function setUp(): void {
  if (client) return;
  client = KubeClient.fromFile(cluster.get().kubeconfigPath, { qps: 0 });
  const transport = client.transport;
  const send = transport.request.bind(transport);
  transport.request = (<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> => {
    if (method === 'DELETE') recording.deletes.push(path);
    return send<T>(method, path, opts);
  }) as Transport['request'];
}
beforeEach(setUp);
after(() => client?.close());

const OWNER = { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' };
const applyOpts: ApplyAllOptions = { fieldManager: 'kustomize-controller', ownerLabels: OWNER, concurrency: 4 };

const cm = (ns: string, name: string, annotations: Record<string, string> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: ns, annotations },
  data: { k: name },
});
const ref = (o: KubeObject): ObjectRef => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });

test('prune deletes stale objects only while they carry the owner labels and are not opted out', async () => {
  const ns = await cluster.get().namespace('ssa-prune');
  const keep = cm(ns, 'keep');
  const stale = cm(ns, 'stale');
  const protectedCm = cm(ns, 'protected', { 'kustomize.toolkit.fluxcd.io/prune': 'disabled' });
  const adopted = cm(ns, 'adopted');
  const vanished = cm(ns, 'vanished');
  const first = await applyAll(client, [keep, stale, protectedCm, adopted, vanished], applyOpts);
  // someone else took `adopted` over: its owner label now names another Kustomization
  await cluster.get().client.patch(ref(adopted), { metadata: { labels: { 'kustomize.toolkit.fluxcd.io/name': 'other' } } });
  await cluster.get().client.delete(ref(vanished));

  const second = await applyAll(client, [keep], applyOpts);
  const staleEntries = diffInventory(first.inventory, second.inventory);
  assert.deepEqual(
    staleEntries.map((e) => e.id),
    [`${ns}_adopted__ConfigMap`, `${ns}_protected__ConfigMap`, `${ns}_stale__ConfigMap`, `${ns}_vanished__ConfigMap`],
  );
  const res = await prune(client, staleEntries, { ownerLabels: OWNER });
  assert.deepEqual(Object.fromEntries(res.changeSet.map((e) => [e.subject, e.action])), {
    [`ConfigMap/${ns}/adopted`]: 'skipped',
    [`ConfigMap/${ns}/protected`]: 'skipped',
    [`ConfigMap/${ns}/stale`]: 'deleted',
    [`ConfigMap/${ns}/vanished`]: 'deleted',
  });
  assert.ok(res.lines.includes(`ConfigMap/${ns}/stale deleted`));
  assert.equal(res.stats.deletes, 1, 'no DELETE for objects already gone or skipped');
  assert.equal(await client.get(ref(stale)), undefined);
  assert.ok(await client.get(ref(protectedCm)));
  assert.ok(await client.get(ref(adopted)));
  assert.ok(await client.get(ref(keep)));
});

test('prune runs in reverse apply order: namespaced objects, then the Namespace, the CRD last', async () => {
  const suffix = randomBytes(3).toString('hex');
  const group = `prune${suffix}.flotilla.test`;
  const ns = `ssa-order-${suffix}`;
  const objects: KubeObject[] = [
    {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `levers.${group}` },
      spec: {
        group,
        names: { kind: 'Lever', plural: 'levers', singular: 'lever', listKind: 'LeverList' },
        scope: 'Namespaced',
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    { apiVersion: `${group}/v1`, kind: 'Lever', metadata: { name: 'l', namespace: ns } },
    cm(ns, 'settings'),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa', namespace: ns } },
  ];
  const applied = await applyAll(client, objects, applyOpts);
  recording.deletes = [];
  const res = await deleteAll(client, applied.inventory, { ownerLabels: OWNER, concurrency: 1 });
  assert.deepEqual(
    res.changeSet.map((e) => `${e.ref.kind} ${e.action}`),
    ['Lever deleted', 'ConfigMap deleted', 'ServiceAccount deleted', 'Namespace deleted', 'CustomResourceDefinition deleted'],
  );
  assert.deepEqual(
    recording.deletes.map((p) => p.split('/').slice(-2, -1)[0]),
    ['levers', 'configmaps', 'serviceaccounts', 'namespaces', 'customresourcedefinitions'],
  );
});

test('deleteAll waits for termination when asked, and reports a timeout without failing', async () => {
  const ns = await cluster.get().namespace('ssa-wait');
  const plain = cm(ns, 'plain');
  const held: KubeObject = { ...cm(ns, 'held'), metadata: { name: 'held', namespace: ns, finalizers: ['flotilla.test/hold'] } };
  const applied = await applyAll(client, [plain, held], applyOpts);
  const res = await deleteAll(client, applied.inventory, { ownerLabels: OWNER, waitForTermination: { timeoutMs: 1500, pollMs: 200 } });
  assert.equal(res.changeSet.filter((e) => e.action === 'deleted').length, 2);
  assert.equal(res.terminationError, `timeout waiting for termination of: [ConfigMap/${ns}/held]`);
  assert.equal(await client.get(ref(plain)), undefined);
  await cluster.get().client.patch(ref(held), { metadata: { finalizers: null } });

  const again = await deleteAll(client, applied.inventory, { ownerLabels: OWNER, waitForTermination: { timeoutMs: 5000, pollMs: 100 } });
  assert.equal(again.terminationError, undefined);
});

test('a tenant that may not delete gets survivors to keep in the inventory', async () => {
  const admin = cluster.get().client;
  const ns = await cluster.get().namespace('ssa-tenant');
  await admin.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer', namespace: ns } });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'no-delete', namespace: ns },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'patch'] }],
  });
  await admin.create({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'no-delete', namespace: ns },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'no-delete' },
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: ns }],
  });
  const tenant = client.impersonate({ user: `system:serviceaccount:${ns}:deployer`, groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'] });
  const applied = await applyAll(tenant, [cm(ns, 'a')], applyOpts);
  await assert.rejects(prune(tenant, applied.inventory, { ownerLabels: OWNER }), (e: unknown) => {
    assert.ok(e instanceof PruneError, String(e));
    assert.equal(e.reason, 'PruneFailed');
    assert.deepEqual(e.survivors, applied.inventory);
    assert.match(e.message, new RegExp(`ConfigMap/${ns}/a delete failed \\(Forbidden\\): .*cannot delete resource "configmaps"`));
    return true;
  });
  assert.ok(await client.get(ref(cm(ns, 'a'))));
});
