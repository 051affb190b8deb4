/**
 * Every example of examples/ applied as its README says, against the real control plane
 * with the real operator: each must reach Ready, and what it promises must be there
 * (replicas per environment, the decrypted Secret, the tenants' boundaries…).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { eventually } from '../harness/cluster.ts';
import { ExampleRun, readyCondition, removeNamespaces, useExampleCluster, type FluxObject } from './examples-harness.ts';

const cluster = useExampleCluster();

interface Deployment extends KubeObject {
  spec: { replicas?: number; template: { spec: { containers: Array<{ resources?: { requests?: Record<string, string> } }> } } };
  status?: { availableReplicas?: number; readyReplicas?: number };
}

interface DataObject extends KubeObject {
  data?: Record<string, string>;
}

const decode = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');

async function getObject<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<T | undefined> {
  return cluster.get().client.get<T>({ apiVersion, kind, namespace, name });
}

async function mustGet<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<T> {
  const o = await getObject<T>(apiVersion, kind, namespace, name);
  assert.ok(o, `${kind}/${namespace ? `${namespace}/` : ''}${name} exists`);
  return o;
}

const deployment = (ns: string, name: string): Promise<Deployment> => mustGet<Deployment>('apps/v1', 'Deployment', ns, name);

/** Objects whose name starts with `prefix` (kustomize generators add a content hash). */
async function generated<T extends KubeObject>(kind: 'ConfigMap' | 'Secret', ns: string, prefix: string): Promise<T> {
  const list = await cluster.get().client.list<T>('v1', kind, { namespace: ns });
  const found = list.items.filter((o) => o.metadata.name.startsWith(prefix));
  assert.equal(found.length, 1, `one ${kind} named ${prefix}* in ${ns}: ${found.map((o) => o.metadata.name).join(', ')}`);
  return found[0]!;
}

/** Applied by a Kustomization the way Flux does: its owner labels and its field manager. */
function assertAppliedBy(o: KubeObject, ks: string, ksNamespace: string): void {
  assert.equal(o.metadata.labels?.['kustomize.toolkit.fluxcd.io/name'], ks, `${o.kind}/${o.metadata.name} owner name label`);
  assert.equal(o.metadata.labels?.['kustomize.toolkit.fluxcd.io/namespace'], ksNamespace, `${o.kind}/${o.metadata.name} owner namespace label`);
  const managers = ((o.metadata['managedFields'] as Array<{ manager?: string }> | undefined) ?? []).map((m) => m.manager);
  assert.ok(managers.includes('kustomize-controller'), `${o.kind}/${o.metadata.name} managed by kustomize-controller: ${managers.join(', ')}`);
}

/** Every Kustomization's Ready message names the revision its source stored. */
function assertAppliedRevision(all: Map<string, FluxObject>): void {
  for (const [key, o] of all) {
    if (o.kind !== 'Kustomization') continue;
    const src = o['spec'] as { sourceRef: { kind: string; name: string; namespace?: string } };
    const source = all.get(`${src.sourceRef.kind}/${src.sourceRef.namespace ?? o.metadata.namespace}/${src.sourceRef.name}`);
    const revision = source?.status?.artifact?.revision;
    assert.match(revision ?? '', /^main@sha1:[0-9a-f]{40}$/, `${key}: source revision`);
    assert.equal(readyCondition(o)?.message, `Applied revision: ${revision}`, `${key} Ready message`);
    assert.equal(o.status?.lastAppliedRevision, revision, `${key} lastAppliedRevision`);
  }
}

/** After the Kustomizations are deleted, the namespaces they applied are gone or going. */
async function assertGarbageCollected(namespaces: readonly string[]): Promise<void> {
  for (const ns of namespaces) {
    const live = await getObject('v1', 'Namespace', undefined, ns);
    assert.ok(!live || live.metadata.deletionTimestamp, `Namespace ${ns} was pruned when its Kustomization was deleted`);
  }
}

async function runExample(run: ExampleRun, check: (all: Map<string, FluxObject>) => Promise<void>, expectNamespaces: readonly string[]): Promise<void> {
  try {
    const all = await run.waitAllReady();
    assertAppliedRevision(all);
    await check(all);
    assert.deepEqual([...run.createdNamespaces].sort(), [...expectNamespaces].sort(), 'namespaces the example creates');
    const stuck = await run.teardown();
    assert.deepEqual(stuck, [], 'every Flux object was deleted (finalizers ran)');
    await assertGarbageCollected(expectNamespaces);
  } finally {
    await run.dispose();
  }
}

test('quickstart: one GitRepository and one Kustomization', async () => {
  const run = await ExampleRun.start({ cluster: cluster.get(), example: 'quickstart' });
  await runExample(
    run,
    async () => {
      const d = await deployment('hello', 'hello');
      assert.equal(d.status?.availableReplicas, 2);
      assertAppliedBy(d, 'quickstart', run.namespace);
      const cm = await mustGet<DataObject>('v1', 'ConfigMap', 'hello', 'hello-config');
      assert.equal(cm.data?.['message'], 'Hello from Flotilla');
      await mustGet('v1', 'Service', 'hello', 'hello');
    },
    ['hello'],
  );
});

test('multi-env: staging and production overlays of one app', async () => {
  const run = await ExampleRun.start({ cluster: cluster.get(), example: 'multi-env' });
  await runExample(
    run,
    async (all) => {
      assert.equal(all.size, 3, [...all.keys()].join(', '));
      const staging = await deployment('podinfo-staging', 'podinfo');
      const production = await deployment('podinfo-production', 'podinfo');
      assert.equal(staging.spec.replicas, 1);
      assert.equal(staging.status?.availableReplicas, 1);
      assert.equal(production.spec.replicas, 3);
      assert.equal(production.status?.availableReplicas, 3);
      assert.equal(staging.spec.template.spec.containers[0]?.resources?.requests?.['cpu'], '10m');
      assert.equal(production.spec.template.spec.containers[0]?.resources?.requests?.['cpu'], '100m');
      assertAppliedBy(staging, 'podinfo-staging', run.namespace);
      assertAppliedBy(production, 'podinfo-production', run.namespace);

      const ingress = await mustGet('networking.k8s.io/v1', 'Ingress', 'podinfo-production', 'podinfo');
      assertAppliedBy(ingress, 'podinfo-production', run.namespace);
      assert.equal(await getObject('networking.k8s.io/v1', 'Ingress', 'podinfo-staging', 'podinfo'), undefined, 'staging has no Ingress');

      const stagingEnv = await generated<DataObject>('ConfigMap', 'podinfo-staging', 'podinfo-env-');
      const productionEnv = await generated<DataObject>('ConfigMap', 'podinfo-production', 'podinfo-env-');
      assert.equal(stagingEnv.data?.['PODINFO_UI_MESSAGE'], 'staging');
      assert.equal(productionEnv.data?.['PODINFO_UI_MESSAGE'], 'production');
      const inventory = (ks: string): string[] =>
        (all.get(`Kustomization/${run.namespace}/${ks}`)?.status?.inventory?.entries ?? []).map((e) => e.id).sort();
      assert.deepEqual(inventory('podinfo-production'), [
        `_podinfo-production__Namespace`,
        `podinfo-production_${productionEnv.metadata.name}__ConfigMap`,
        'podinfo-production_podinfo__Service',
        'podinfo-production_podinfo_apps_Deployment',
        'podinfo-production_podinfo_networking.k8s.io_Ingress',
      ].sort());
    },
    ['podinfo-staging', 'podinfo-production'],
  );
});

test('layered: infrastructure → apps → monitoring with dependsOn, wait and health checks', async () => {
  const run = await ExampleRun.start({ cluster: cluster.get(), example: 'layered' });
  await runExample(
    run,
    async (all) => {
      const ks = (name: string): FluxObject => {
        const o = all.get(`Kustomization/${run.namespace}/${name}`);
        assert.ok(o, `Kustomization ${name}`);
        return o;
      };
      const readySince = (name: string): number => Date.parse(readyCondition(ks(name))?.lastTransitionTime ?? '');
      const created = (o: KubeObject): number => Date.parse(o.metadata.creationTimestamp ?? '');

      const redis = await deployment('shop', 'redis');
      const storefront = await deployment('shop', 'storefront');
      const exporter = await deployment('shop-monitoring', 'blackbox-exporter');
      assert.equal(redis.status?.availableReplicas, 1);
      assert.equal(storefront.status?.availableReplicas, 2);
      assert.equal(exporter.status?.availableReplicas, 1);
      assertAppliedBy(redis, 'infrastructure', run.namespace);
      assertAppliedBy(storefront, 'apps', run.namespace);
      assertAppliedBy(exporter, 'monitoring', run.namespace);
      await mustGet('v1', 'ConfigMap', 'shop', 'shop-settings');
      await mustGet('v1', 'ConfigMap', 'shop-monitoring', 'probe-targets');

      // dependsOn: a layer's objects are created only once the layer below is Ready
      // (timestamps have whole seconds, hence >=)
      assert.ok(created(storefront) >= readySince('infrastructure'), 'apps applied after infrastructure was Ready');
      assert.ok(created(exporter) >= readySince('apps'), 'monitoring applied after apps was Ready');
      // wait: true and healthChecks both report through the Healthy condition
      for (const name of ['infrastructure', 'apps', 'monitoring']) {
        const healthy = ks(name).status?.conditions?.find((c) => c.type === 'Healthy');
        assert.equal(healthy?.status, 'True', `${name} Healthy: ${healthy?.message ?? 'no condition'}`);
      }
    },
    ['shop', 'shop-monitoring'],
  );
});

test('sops: an encrypted Secret and an encrypted env file are decrypted on apply', async () => {
  const run = await ExampleRun.start({ cluster: cluster.get(), example: 'sops' });
  await runExample(
    run,
    async () => {
      const db = await mustGet<DataObject>('v1', 'Secret', 'guestbook', 'guestbook-db');
      assert.equal(decode(db.data?.['username']), 'guestbook');
      assert.equal(decode(db.data?.['password']), 'demo-password-not-secret-7c1d');
      assert.equal(db.data?.['sops'], undefined, 'no SOPS metadata in the applied Secret');
      assertAppliedBy(db, 'guestbook', run.namespace);
      const smtp = await generated<DataObject>('Secret', 'guestbook', 'guestbook-smtp-');
      assert.deepEqual(Object.keys(smtp.data ?? {}).sort(), ['SMTP_PASSWORD', 'SMTP_USER']);
      assert.equal(decode(smtp.data?.['SMTP_USER']), 'guestbook@example.com');
      assert.equal(decode(smtp.data?.['SMTP_PASSWORD']), 'demo-smtp-password-2b9e');
      const app = await deployment('guestbook', 'guestbook');
      assert.equal(app.status?.availableReplicas, 1);
      const envFrom = (app.spec.template.spec.containers[0] as { envFrom?: Array<{ secretRef?: { name: string } }> }).envFrom;
      assert.equal(envFrom?.[0]?.secretRef?.name, smtp.metadata.name, 'the Deployment uses the generated Secret');
    },
    ['guestbook'],
  );
});

test('multi-tenant: a platform repository creates two tenants that act only as their own service accounts', async (t) => {
  const c = cluster.get();
  const shard = `e2e-${Date.now().toString(36)}`;
  const shardLabel = { 'sharding.fluxcd.io/key': shard };
  let platformBinding: string | undefined;
  const run = await ExampleRun.start({
    cluster: c,
    example: 'multi-tenant',
    namespacePrefix: 'ex-tenants',
    // lockdown mode, as the chart's multitenancy.enabled; tenants live in their own
    // namespaces, so the operator watches all of them, sharded to this test's objects
    operatorFlags: { watchAllNamespaces: true, watchLabelSelector: `sharding.fluxcd.io/key=${shard}`, noCrossNamespaceRefs: true, noRemoteBases: true, defaultServiceAccount: 'default' },
    labels: shardLabel,
    // the tenants' GitRepositories and Kustomizations are created by the platform
    // Kustomization: it labels them for this shard too
    customize: (o) => {
      if (o.kind === 'Kustomization') (o['spec'] as Record<string, unknown>)['commonMetadata'] = { labels: shardLabel };
    },
    // what the chart does in lockdown mode (multitenancy.platformServiceAccounts) for
    // flux-system: kustomize-controller there means the controller's own power
    prepare: async (ns) => {
      platformBinding = `examples-e2e-${ns}-platform`;
      await c.client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'kustomize-controller', namespace: ns } });
      await c.client.create({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: platformBinding },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'kustomize-controller', namespace: ns }],
      });
    },
  });
  try {
    await runExample(
      run,
      async (all) => {
        assert.deepEqual(
          [...all.keys()].sort(),
          [
            `GitRepository/${run.namespace}/platform`,
            `Kustomization/${run.namespace}/tenants`,
            'GitRepository/team-a/team-a',
            'GitRepository/team-b/team-b',
            'Kustomization/team-a/team-a',
            'Kustomization/team-b/team-b',
          ].sort(),
        );
        const web = await deployment('team-a', 'web');
        const api = await deployment('team-b', 'api');
        assert.equal(web.status?.availableReplicas, 2);
        assert.equal(api.status?.availableReplicas, 1);
        assertAppliedBy(web, 'team-a', 'team-a');
        assertAppliedBy(api, 'team-b', 'team-b');
        const binding = await mustGet<KubeObject & { roleRef: { name: string } }>('rbac.authorization.k8s.io/v1', 'RoleBinding', 'team-a', 'team-a-reconciler');
        assert.equal(binding.roleRef.name, 'edit');
        assertAppliedBy(binding, 'tenants', run.namespace);

        // team-b's Kustomization tries to overwrite team-a's ConfigMap
        const webConfigBefore = await mustGet<DataObject>('v1', 'ConfigMap', 'team-a', 'web-config');
        const teamAObjects = async (): Promise<string[]> => {
          const out: string[] = [];
          for (const [v, k] of [['v1', 'ConfigMap'], ['v1', 'Service'], ['apps/v1', 'Deployment']] as const) {
            for (const o of (await c.client.list(v, k, { namespace: 'team-a' })).items) out.push(`${k}/${o.metadata.name}@${o.metadata.resourceVersion ?? ''}`);
          }
          return out.sort();
        };
        const teamABefore = await teamAObjects();
        const intruderUrl = await run.addRepo('team-b-intruder', {
          'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - takeover.yaml\n',
          'takeover.yaml': [
            'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: team-a\ndata:\n  PODINFO_UI_MESSAGE: "owned by team-b now"\n',
            'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: intruder-note\n  namespace: team-b\ndata:\n  note: "this one team-b may write"\n',
          ].join('---\n'),
        });
        const intruders: KubeObject[] = [
          {
            apiVersion: 'source.toolkit.fluxcd.io/v1',
            kind: 'GitRepository',
            metadata: { name: 'intruder', namespace: 'team-b', labels: shardLabel },
            spec: { interval: '1m', url: intruderUrl, ref: { branch: 'main' } },
          },
          {
            apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
            kind: 'Kustomization',
            metadata: { name: 'intruder', namespace: 'team-b', labels: shardLabel },
            spec: { interval: '5m', serviceAccountName: 'team-b', sourceRef: { kind: 'GitRepository', name: 'intruder' }, path: './', prune: true },
          },
          // under --no-cross-namespace-refs a tenant cannot use another tenant's source either
          {
            apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
            kind: 'Kustomization',
            metadata: { name: 'borrow', namespace: 'team-b', labels: shardLabel },
            spec: { interval: '5m', serviceAccountName: 'team-b', sourceRef: { kind: 'GitRepository', name: 'team-a', namespace: 'team-a' }, path: './', prune: true },
          },
        ];
        for (const o of intruders) await run.applyExtra(o);

        const failed = async (name: string): Promise<FluxObject> =>
          eventually(async () => {
            const o = await c.client.get<FluxObject>({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: 'team-b', name });
            return readyCondition(o)?.status === 'False' && o?.status?.observedGeneration === o?.metadata.generation ? o : undefined;
          }, 60_000, `Kustomization team-b/${name} Ready=False`);
        const intruder = readyCondition(await failed('intruder'));
        assert.match(intruder?.message ?? '', /ConfigMap\/team-a\/web-config/, intruder?.message);
        assert.match(intruder?.message ?? '', /forbidden/i, intruder?.message);
        assert.match(intruder?.message ?? '', /system:serviceaccount:team-b:team-b/, intruder?.message);
        t.diagnostic(`team-b writing into team-a: ${intruder?.message ?? ''}`);
        const borrow = readyCondition(await failed('borrow'));
        t.diagnostic(`team-b using team-a's source: ${borrow?.message ?? ''}`);
        assert.equal(borrow?.reason, 'AccessDenied', borrow?.message);
        assert.match(borrow?.message ?? '', /cross-namespace/, borrow?.message);
        const warnings = (await c.client.list('v1', 'Event', { namespace: 'team-b' })).items.filter(
          (e) => (e['involvedObject'] as { name?: string }).name === 'intruder' && e['type'] === 'Warning',
        );
        assert.ok(warnings.some((e) => /ConfigMap\/team-a\/web-config/.test(String(e['message']))), 'a Warning event names the refused object');

        // nothing in team-a changed, and both tenants are still Ready
        const webConfigAfter = await mustGet<DataObject>('v1', 'ConfigMap', 'team-a', 'web-config');
        assert.deepEqual(webConfigAfter.data, webConfigBefore.data);
        assert.equal(webConfigAfter.metadata.resourceVersion, webConfigBefore.metadata.resourceVersion);
        assert.deepEqual(await teamAObjects(), teamABefore);
        for (const t of ['team-a', 'team-b']) {
          const ks = await c.client.get<FluxObject>({ apiVersion: 'kustomize.toolkit.fluxcd.io/v1', kind: 'Kustomization', namespace: t, name: t });
          assert.equal(readyCondition(ks)?.status, 'True', `${t} still Ready: ${readyCondition(ks)?.message ?? ''}`);
        }
      },
      ['team-a', 'team-b'],
    );
  } finally {
    if (platformBinding) await c.client.delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: platformBinding }).catch(() => undefined);
    await removeNamespaces(c.client, ['team-a', 'team-b']);
  }
});
