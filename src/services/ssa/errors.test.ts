import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from '../../runtime/client/errors.ts';
import { AppliedCache, canonicalJson, desiredHash } from './applied-cache.ts';
import { changeSetEntry, changeSetLines, inventoryOf } from './changeset.ts';
import { ApplyError, immutableFields, objectFailure } from './errors.ts';

const dep = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'team-b' };

test('a 403 names the object, the operation and keeps the server message', () => {
  const e = new ApiError(
    403,
    'Forbidden',
    'deployments.apps "web" is forbidden: User "system:serviceaccount:team-a:deployer" cannot patch resource "deployments" in API group "apps" in the namespace "team-b"',
  );
  const f = objectFailure(dep, 'dry-run', e);
  assert.equal(f.forbidden, true);
  assert.equal(
    f.message,
    'Deployment/team-b/web dry-run failed (Forbidden): deployments.apps "web" is forbidden: User "system:serviceaccount:team-a:deployer" cannot patch resource "deployments" in API group "apps" in the namespace "team-b"',
  );
  const err = new ApplyError([f], []);
  assert.equal(err.reason, 'ReconciliationFailed');
  assert.equal(err.kind, 'transient');
  assert.equal(err.forbidden, true);
});

test('a missing namespace is reported as such', () => {
  const f = objectFailure({ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'nope' }, 'apply', new ApiError(404, 'NotFound', 'namespaces "nope" not found'));
  assert.equal(f.message, 'ConfigMap/nope/cm not found: namespaces "nope" not found');
});

test('immutable-field refusals are recognised with their fields; other validation errors are not', () => {
  const svc = new ApiError(422, 'Invalid', 'Service "svc" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.77"}: may not change once set', {
    causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: []string{"10.96.0.77"}: may not change once set', field: 'spec.clusterIPs[0]' }],
  });
  assert.deepEqual(immutableFields(svc), ['spec.clusterIPs[0]']);
  const job = new ApiError(422, 'Invalid', `Job.batch "j" is invalid: spec.template: Invalid value: core.PodTemplateSpec{${'x'.repeat(3000)}}: field is immutable`, {
    causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: core.PodTemplateSpec{${'x'.repeat(3000)}}: field is immutable`, field: 'spec.template' }],
  });
  assert.deepEqual(immutableFields(job), ['spec.template']);
  const msg = objectFailure({ apiVersion: 'batch/v1', kind: 'Job', name: 'j', namespace: 'n' }, 'dry-run', job).message;
  assert.ok(msg.length < 300, 'the quoted PodTemplateSpec is cut out');
  assert.equal(msg, 'Job/n/j dry-run failed (Invalid): Job.batch "j" is invalid: spec.template: Invalid value: …: field is immutable');
  const selector = new ApiError(422, 'Invalid', 'Deployment.apps "x" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"a":"c"}: `selector` does not match template `labels`', {
    causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: map[string]string{"a":"c"}: `selector` does not match template `labels`', field: 'spec.template.metadata.labels' }],
  });
  assert.equal(immutableFields(selector), undefined);
  assert.equal(immutableFields(new ApiError(409, 'Conflict', 'conflict')), undefined);
});

test('change-set lines: only changes, Flux subject format', () => {
  const entries = [
    changeSetEntry({ apiVersion: 'v1', kind: 'Namespace', name: 'apps' }, 'created'),
    changeSetEntry(dep, 'configured'),
    changeSetEntry({ apiVersion: 'v1', kind: 'ConfigMap', name: 'cm', namespace: 'team-b' }, 'unchanged'),
    changeSetEntry({ apiVersion: 'v1', kind: 'Secret', name: 's', namespace: 'team-b' }, 'skipped'),
  ];
  assert.deepEqual(changeSetLines(entries), ['Namespace/apps created', 'Deployment/team-b/web configured']);
  assert.equal(changeSetLines(entries, { all: true }).length, 4);
  assert.deepEqual(
    inventoryOf(entries).map((e) => e.id),
    ['_apps__Namespace', 'team-b_web_apps_Deployment', 'team-b_cm__ConfigMap', 'team-b_s__Secret'],
  );
});

test('desired hashes ignore key order but not values; the cache retains only current ids', () => {
  assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}');
  assert.equal(desiredHash({ a: 1, b: 2 }), desiredHash({ b: 2, a: 1 }));
  assert.notEqual(desiredHash({ a: 1 }), desiredHash({ a: 2 }));
  assert.notEqual(desiredHash({ a: 1 }, 'kustomize-controller'), desiredHash({ a: 1 }, 'helm-controller'));
  const cache = new AppliedCache();
  cache.set('x', { hash: 'h', resourceVersion: '1' });
  cache.set('y', { hash: 'h', resourceVersion: '2' });
  cache.retain(['y']);
  assert.equal(cache.get('x'), undefined);
  assert.equal(cache.size, 1);
});
