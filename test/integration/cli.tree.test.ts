/**
 * `flotilla tree kustomization` against a real API server: an inventory holding a nested
 * Kustomization (compared with Flux's tree goldens), --compact, an empty inventory, and a
 * HelmRelease whose objects are read from Helm's storage Secret.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import type { KubeClient } from '../../src/runtime/client/client.ts';
import { readGolden, runFlotilla } from '../../src/cli/commands/testing.ts';
import { useCluster } from '../harness/cluster.ts';
import { condition } from './cli.fake-controller.ts';

const cluster = useCluster();
const KS = 'kustomize.toolkit.fluxcd.io/v1';
const kube = (): string[] => ['--kubeconfig', cluster.get().kubeconfigPath];

async function kustomization(client: KubeClient, namespace: string, name: string, entries: Array<{ id: string; v: string }> | undefined): Promise<void> {
  await client.create({
    apiVersion: KS,
    kind: 'Kustomization',
    metadata: { name, namespace },
    spec: { interval: '5m', path: './', prune: true, sourceRef: { kind: 'GitRepository', name: 'flux-system' } },
  });
  await client.patchStatus(
    { apiVersion: KS, kind: 'Kustomization', namespace, name },
    { conditions: [condition('Ready', 'True', 'ReconciliationSucceeded', 'Applied revision: main@sha1:abc')], ...(entries ? { inventory: { entries } } : {}) },
    'test',
  );
}

test('tree of a Kustomization whose inventory holds a nested Kustomization', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-tree');
  await kustomization(client, ns, 'flux-system', [
    { id: `_${ns}__Namespace`, v: 'v1' },
    { id: `${ns}_helm-controller_apps_Deployment`, v: 'v1' },
    { id: `${ns}_kustomize-controller_apps_Deployment`, v: 'v1' },
    { id: `${ns}_notification-controller_apps_Deployment`, v: 'v1' },
    { id: `${ns}_source-controller_apps_Deployment`, v: 'v1' },
    { id: `${ns}_infrastructure_kustomize.toolkit.fluxcd.io_Kustomization`, v: 'v1beta2' },
    { id: `${ns}_flux-system_source.toolkit.fluxcd.io_GitRepository`, v: 'v1beta1' },
  ]);
  await kustomization(client, ns, 'infrastructure', [
    { id: '_cert-manager__Namespace', v: 'v1' },
    { id: 'cert-manager_cert-manager_source.toolkit.fluxcd.io_HelmRepository', v: 'v1beta1' },
  ]);
  await kustomization(client, ns, 'empty', undefined);

  let r = await runFlotilla(['tree', 'kustomization', 'flux-system', '-n', ns, ...kube()]);
  assert.equal(r.code, 0, r.stderr);
  const expected = [
    `Kustomization/${ns}/flux-system`,
    `├── Namespace/${ns}`,
    `├── Deployment/${ns}/helm-controller`,
    `├── Deployment/${ns}/kustomize-controller`,
    `├── Deployment/${ns}/notification-controller`,
    `├── Deployment/${ns}/source-controller`,
    `├── Kustomization/${ns}/infrastructure`,
    '│   ├── Namespace/cert-manager',
    '│   └── HelmRepository/cert-manager/cert-manager',
    `└── GitRepository/${ns}/flux-system`,
    '',
    '',
  ].join('\n');
  assert.equal(r.stdout, expected);
  const vars = { fluxns: ns };
  const golden = readGolden('tree/tree.golden', vars);
  if (golden !== undefined) {
    assert.equal(r.stdout, golden);
    r = await runFlotilla(['tree', 'ks', 'flux-system', '--compact', '-n', ns, ...kube()]);
    assert.equal(r.stdout, readGolden('tree/tree-compact.golden', vars));
    r = await runFlotilla(['tree', 'kustomization', 'empty', '-n', ns, ...kube()]);
    assert.equal(r.stdout, readGolden('tree/tree-empty.golden', vars));
  }

  r = await runFlotilla(['tree', 'ks', 'flux-system', '-o', 'json', '-n', ns, ...kube()]);
  const json = JSON.parse(r.stdout) as { resource: { Name: string }; resources: Array<{ resource: { GroupKind: { Kind: string } }; resources?: unknown[] }> };
  assert.equal(json.resource.Name, 'flux-system');
  assert.equal(json.resources[5]?.resource.GroupKind.Kind, 'Kustomization');
  assert.equal(json.resources[5]?.resources?.length, 2);

  r = await runFlotilla(['tree', 'ks', 'missing', '-n', ns, ...kube()]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `✗ Kustomization object 'missing' not found in "${ns}" namespace\n`);
});

test('tree descends into a HelmRelease through its Helm storage Secret', async () => {
  const { client } = cluster.get();
  const ns = await cluster.get().namespace('cli-tree');
  await kustomization(client, ns, 'apps', [{ id: `${ns}_web_helm.toolkit.fluxcd.io_HelmRelease`, v: 'v2' }]);
  await client.create({
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'web', namespace: ns },
    spec: { interval: '5m', chart: { spec: { chart: 'web', sourceRef: { kind: 'HelmRepository', name: 'charts' } } } },
  });
  const at = '2026-01-01T00:00:00Z';
  await client.patchStatus(
    { apiVersion: 'helm.toolkit.fluxcd.io/v2', kind: 'HelmRelease', namespace: ns, name: 'web' },
    {
      storageNamespace: ns,
      history: [{ name: 'web', namespace: ns, version: 2, chartName: 'web', chartVersion: '1.0.0', configDigest: 'sha256:x', digest: 'sha256:y', firstDeployed: at, lastDeployed: at, status: 'deployed' }],
      conditions: [condition('Ready', 'True', 'UpgradeSucceeded', 'Helm upgrade succeeded')],
    },
    'test',
  );
  const manifest = [
    '---\n# Source: web/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: web',
    '---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: other',
    '---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: web-reader',
  ].join('\n');
  const release = gzipSync(Buffer.from(JSON.stringify({ name: 'web', version: 2, manifest })));
  await client.create({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'sh.helm.release.v1.web.v2', namespace: ns, labels: { owner: 'helm' } },
    type: 'helm.sh/release.v1',
    data: { release: Buffer.from(release.toString('base64')).toString('base64') },
  });
  const r = await runFlotilla(['tree', 'ks', 'apps', '-n', ns, ...kube()]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    [`Kustomization/${ns}/apps`, `└── HelmRelease/${ns}/web`, `    ├── ServiceAccount/${ns}/web`, '    ├── Deployment/other/web', '    └── ClusterRole/web-reader', '', ''].join('\n'),
  );
});
