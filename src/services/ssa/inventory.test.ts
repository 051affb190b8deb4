import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { diffInventory, entriesOf, entryOf, formatId, idOf, mergeInventory, parseEntry, parseId, sortEntries } from './inventory.ts';

test('ids use Flux format: namespace_name_group_kind, empty namespace and core group', () => {
  assert.equal(idOf({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'default' }), 'default_web_apps_Deployment');
  assert.equal(idOf({ apiVersion: 'v1', kind: 'Namespace', name: 'foo' }), '_foo__Namespace');
  assert.equal(idOf({ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'ns' }), 'ns_cm__ConfigMap');
  assert.deepEqual(entryOf({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name: 'foos.example.com' }), {
    id: '_foos.example.com_apiextensions.k8s.io_CustomResourceDefinition',
    v: 'v1',
  });
});

test('colons in RBAC names are written as double underscores and read back', () => {
  const ref = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', name: 'system:flux:reader' };
  const e = entryOf(ref);
  assert.equal(e.id, '_system__flux__reader_rbac.authorization.k8s.io_ClusterRole');
  assert.deepEqual(parseEntry(e), { ...ref, namespace: undefined });
});

test('parseEntry turns an entry back into a reference', () => {
  assert.deepEqual(parseEntry({ id: 'apps_web_apps_Deployment', v: 'v1' }), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'apps' });
  assert.deepEqual(parseEntry({ id: '_foo__Namespace', v: 'v1' }), { apiVersion: 'v1', kind: 'Namespace', name: 'foo', namespace: undefined });
  assert.deepEqual(parseEntry({ id: 'flux-system_podinfo_helm.toolkit.fluxcd.io_HelmRelease', v: 'v2' }), {
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    name: 'podinfo',
    namespace: 'flux-system',
  });
});

test('parseId rejects malformed ids', () => {
  assert.throws(() => parseId('nounderscore'), /invalid inventory entry/);
  assert.throws(() => parseId('a_b'), /invalid inventory entry/);
  assert.throws(() => parseId('ns_a_b_c_apps_Deployment'), /too many fields/);
});

test('format and parse are inverse for names Kubernetes allows', () => {
  const dns = fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/);
  fc.assert(
    fc.property(fc.option(dns, { nil: '' }), dns, fc.constantFrom('', 'apps', 'example.com'), fc.constantFrom('Deployment', 'Foo', 'ConfigMap'), (namespace, name, group, kind) => {
      const m = { namespace, name, group, kind };
      assert.deepEqual(parseId(formatId(m)), m);
    }),
  );
});

test('entriesOf sorts in apply order and drops duplicates', () => {
  const entries = entriesOf([
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'app' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'app' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'app' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'app' } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'app' } },
    { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'foos.example.com' } },
  ]);
  assert.deepEqual(
    entries.map((e) => e.id),
    ['_foos.example.com_apiextensions.k8s.io_CustomResourceDefinition', '_app__Namespace', 'app_a__ConfigMap', 'app_b__ConfigMap', 'app_web_apps_Deployment'],
  );
});

test('diffInventory returns entries that left, by id, in apply order', () => {
  const old = [
    { id: 'app_web_apps_Deployment', v: 'v1' },
    { id: '_app__Namespace', v: 'v1' },
    { id: 'app_old__ConfigMap', v: 'v1' },
    { id: 'app_moved_example.com_Foo', v: 'v1beta1' },
  ];
  const next = [
    { id: 'app_web_apps_Deployment', v: 'v1' },
    { id: 'app_moved_example.com_Foo', v: 'v1' },
  ];
  assert.deepEqual(diffInventory(old, next), [
    { id: '_app__Namespace', v: 'v1' },
    { id: 'app_old__ConfigMap', v: 'v1' },
  ]);
  assert.deepEqual(diffInventory(next, next), []);
});

test('mergeInventory re-tracks survivors once', () => {
  const inv = [{ id: 'a_x__ConfigMap', v: 'v1' }];
  const merged = mergeInventory(inv, [
    { id: 'a_x__ConfigMap', v: 'v1' },
    { id: 'a_y__ConfigMap', v: 'v1' },
  ]);
  assert.deepEqual(merged, [
    { id: 'a_x__ConfigMap', v: 'v1' },
    { id: 'a_y__ConfigMap', v: 'v1' },
  ]);
});

test('sortEntries puts unparsable entries last instead of failing', () => {
  const sorted = sortEntries([{ id: 'garbage', v: 'v1' }, { id: 'a_x__ConfigMap', v: 'v1' }, { id: '_a__Namespace', v: 'v1' }]);
  assert.deepEqual(
    sorted.map((e) => e.id),
    ['_a__Namespace', 'a_x__ConfigMap', 'garbage'],
  );
});
