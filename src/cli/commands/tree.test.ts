import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatObjMetadata, parseInventoryId, printTree, type TreeNode } from './tree.ts';
import { NO_GOLDENS, readGolden } from './testing.ts';

test('inventory ids parse like cli-utils, with __ standing for : in names', () => {
  assert.deepEqual(parseInventoryId('_flux-system__Namespace'), { namespace: '', name: 'flux-system', group: '', kind: 'Namespace' });
  assert.deepEqual(parseInventoryId('apps_web_apps_Deployment'), { namespace: 'apps', name: 'web', group: 'apps', kind: 'Deployment' });
  assert.deepEqual(parseInventoryId('_system__controller__x_rbac.authorization.k8s.io_ClusterRole'), {
    namespace: '', name: 'system:controller:x', group: 'rbac.authorization.k8s.io', kind: 'ClusterRole',
  });
  assert.throws(() => parseInventoryId('nounderscores'), /unable to parse/);
  assert.throws(() => parseInventoryId('ns_a_b_c_g_Kind'), /unable to parse/);
  assert.equal(formatObjMetadata({ namespace: '', name: 'x', group: '', kind: 'Namespace' }), 'Namespace/x');
});

const leaf = (id: string): TreeNode => ({ resource: parseInventoryId(id), resources: [] });

test('the tree prints like flux tree', (t) => {
  const ns = 'flux-system';
  const infra = leaf(`${ns}_infrastructure_kustomize.toolkit.fluxcd.io_Kustomization`);
  infra.resources.push(leaf('_cert-manager__Namespace'), leaf('cert-manager_cert-manager_source.toolkit.fluxcd.io_HelmRepository'));
  const root: TreeNode = {
    resource: { namespace: ns, name: 'flux-system', group: 'kustomize.toolkit.fluxcd.io', kind: 'Kustomization' },
    resources: [leaf(`_${ns}__Namespace`), leaf(`${ns}_helm-controller_apps_Deployment`), infra, leaf(`${ns}_flux-system_source.toolkit.fluxcd.io_GitRepository`)],
  };
  const expected = [
    'Kustomization/flux-system/flux-system',
    '├── Namespace/flux-system',
    '├── Deployment/flux-system/helm-controller',
    '├── Kustomization/flux-system/infrastructure',
    '│   ├── Namespace/cert-manager',
    '│   └── HelmRepository/cert-manager/cert-manager',
    '└── GitRepository/flux-system/flux-system',
    '',
  ].join('\n');
  assert.equal(printTree(root), expected);
  const golden = readGolden('tree/tree-compact.golden', { fluxns: ns });
  if (golden === undefined) return t.skip(NO_GOLDENS);
  const compactInfra = leaf(`${ns}_infrastructure_kustomize.toolkit.fluxcd.io_Kustomization`);
  compactInfra.resources.push(leaf('cert-manager_cert-manager_source.toolkit.fluxcd.io_HelmRepository'));
  const compact: TreeNode = { resource: root.resource, resources: [compactInfra, leaf(`${ns}_flux-system_source.toolkit.fluxcd.io_GitRepository`)] };
  // the command prints the tree and a newline, as flux does
  assert.equal(`${printTree(compact)}\n`, golden);
});
