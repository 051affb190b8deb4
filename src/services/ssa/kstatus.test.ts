import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { computeStatus } from './kstatus.ts';

function obj(apiVersion: string, kind: string, rest: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): KubeObject {
  return { apiVersion, kind, metadata: { name: 'x', namespace: 'ns', ...meta }, ...rest };
}

const deploymentStatus = (over: Record<string, unknown> = {}) => ({
  observedGeneration: 2,
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  conditions: [
    { type: 'Available', status: 'True' },
    { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
  ],
  ...over,
});

test('Deployment: Current when rolled out and available', () => {
  const d = obj('apps/v1', 'Deployment', { spec: { replicas: 3, progressDeadlineSeconds: 600 }, status: deploymentStatus() }, { generation: 2 });
  assert.equal(computeStatus(d).status, 'Current');
});

test('Deployment: InProgress while the generation is not observed or replicas are missing', () => {
  const stale = obj('apps/v1', 'Deployment', { spec: { replicas: 3 }, status: deploymentStatus({ observedGeneration: 1 }) }, { generation: 2 });
  assert.deepEqual(computeStatus(stale), { status: 'InProgress', message: 'Deployment generation is 2, but latest observed generation is 1' });
  const updating = obj('apps/v1', 'Deployment', { spec: { replicas: 3 }, status: deploymentStatus({ updatedReplicas: 1 }) }, { generation: 2 });
  assert.deepEqual(computeStatus(updating), { status: 'InProgress', message: 'Updated: 1/3' });
  const unavailable = obj('apps/v1', 'Deployment', { spec: { replicas: 3 }, status: deploymentStatus({ availableReplicas: 2 }) }, { generation: 2 });
  assert.deepEqual(computeStatus(unavailable), { status: 'InProgress', message: 'Available: 2/3' });
  const noAvailableCondition = obj(
    'apps/v1',
    'Deployment',
    { spec: { replicas: 3, progressDeadlineSeconds: 600 }, status: deploymentStatus({ conditions: [{ type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }] }) },
    { generation: 2 },
  );
  assert.equal(computeStatus(noAvailableCondition).message, 'Deployment not Available');
});

test('Deployment: Failed when the progress deadline is exceeded', () => {
  const d = obj(
    'apps/v1',
    'Deployment',
    { spec: { replicas: 3 }, status: deploymentStatus({ availableReplicas: 0, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }) },
    { generation: 2 },
  );
  assert.equal(computeStatus(d).status, 'Failed');
});

test('Deployment with zero replicas is Current once observed', () => {
  const d = obj(
    'apps/v1',
    'Deployment',
    { spec: { replicas: 0, progressDeadlineSeconds: 600 }, status: { observedGeneration: 1, conditions: [{ type: 'Available', status: 'True' }, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' }] } },
    { generation: 1 },
  );
  assert.equal(computeStatus(d).status, 'Current');
});

test('StatefulSet: revisions must match; OnDelete is always Current', () => {
  const base = { spec: { replicas: 2 }, status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, currentReplicas: 2, updatedReplicas: 2, currentRevision: 'a', updateRevision: 'a' } };
  assert.equal(computeStatus(obj('apps/v1', 'StatefulSet', base, { generation: 1 })).status, 'Current');
  const rolling = { ...base, status: { ...base.status, updateRevision: 'b' } };
  assert.equal(computeStatus(obj('apps/v1', 'StatefulSet', rolling, { generation: 1 })).status, 'InProgress');
  const onDelete = { ...rolling, spec: { replicas: 2, updateStrategy: { type: 'OnDelete' } } };
  assert.equal(computeStatus(obj('apps/v1', 'StatefulSet', onDelete, { generation: 1 })).status, 'Current');
});

test('DaemonSet: needs observedGeneration and every scheduled pod ready', () => {
  assert.equal(computeStatus(obj('apps/v1', 'DaemonSet', { status: {} }, { generation: 1 })).status, 'InProgress');
  const ok = { status: { observedGeneration: 1, desiredNumberScheduled: 2, currentNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberReady: 2 } };
  assert.equal(computeStatus(obj('apps/v1', 'DaemonSet', ok, { generation: 1 })).status, 'Current');
  const notReady = { status: { ...ok.status, numberReady: 1 } };
  assert.deepEqual(computeStatus(obj('apps/v1', 'DaemonSet', notReady, { generation: 1 })), { status: 'InProgress', message: 'Ready: 1/2' });
});

test('ReplicaSet: available replicas', () => {
  const rs = { spec: { replicas: 2 }, status: { replicas: 2, readyReplicas: 2, availableReplicas: 2, fullyLabeledReplicas: 2 } };
  assert.equal(computeStatus(obj('apps/v1', 'ReplicaSet', rs)).status, 'Current');
  assert.equal(computeStatus(obj('apps/v1', 'ReplicaSet', { ...rs, status: { ...rs.status, availableReplicas: 1 } })).status, 'InProgress');
});

test('Job: Complete is Current, Failed is Failed, not started is InProgress', () => {
  assert.equal(computeStatus(obj('batch/v1', 'Job', { status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } })).status, 'Current');
  assert.equal(computeStatus(obj('batch/v1', 'Job', { status: { failed: 6, conditions: [{ type: 'Failed', status: 'True' }] } })).status, 'Failed');
  assert.deepEqual(computeStatus(obj('batch/v1', 'Job', { status: {} })), { status: 'InProgress', message: 'Job not started' });
  assert.equal(computeStatus(obj('batch/v1', 'Job', { status: { startTime: '2024-01-01T00:00:00Z', active: 1 } })).status, 'Current');
});

test('Pod: Ready, crash looping, unschedulable', () => {
  assert.equal(computeStatus(obj('v1', 'Pod', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } })).status, 'Current');
  const crash = { status: { phase: 'Running', containerStatuses: [{ name: 'app', state: { waiting: { reason: 'CrashLoopBackOff' } } }] } };
  assert.deepEqual(computeStatus(obj('v1', 'Pod', crash)), { status: 'Failed', message: 'Containers in CrashLoop state: app' });
  const pending = { status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] } };
  const created = '2024-01-01T00:00:00Z';
  assert.equal(computeStatus(obj('v1', 'Pod', pending, { creationTimestamp: created }), Date.parse(created) + 5_000).status, 'InProgress');
  assert.equal(computeStatus(obj('v1', 'Pod', pending, { creationTimestamp: created }), Date.parse(created) + 60_000).status, 'Failed');
  assert.equal(computeStatus(obj('v1', 'Pod', { status: { phase: 'Succeeded' } })).status, 'Current');
});

test('PVC Bound, Service, CRD Established, Namespace', () => {
  assert.equal(computeStatus(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Pending' } })).status, 'InProgress');
  assert.equal(computeStatus(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Bound' } })).status, 'Current');
  assert.equal(computeStatus(obj('v1', 'Service', { spec: { type: 'ClusterIP', clusterIP: '10.0.0.1' } })).status, 'Current');
  assert.equal(computeStatus(obj('v1', 'Service', { spec: { type: 'LoadBalancer' } })).status, 'InProgress');
  const crd = (conditions: unknown[]) => obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', { status: { conditions } });
  assert.equal(computeStatus(crd([])).status, 'InProgress');
  assert.equal(computeStatus(crd([{ type: 'Established', status: 'False', reason: 'Installing' }])).status, 'InProgress');
  assert.equal(computeStatus(crd([{ type: 'Established', status: 'True' }])).status, 'Current');
  assert.equal(computeStatus(crd([{ type: 'NamesAccepted', status: 'False', reason: 'MultipleNamesNotAllowed', message: 'clash' }])).status, 'Failed');
  assert.equal(computeStatus(obj('v1', 'Namespace', { status: { phase: 'Active' } })).status, 'Current');
});

test('generic objects: Ready condition, Reconciling, Stalled, no status', () => {
  const flux = (conditions: unknown[], observedGeneration = 3) => obj('helm.toolkit.fluxcd.io/v2', 'HelmRelease', { status: { observedGeneration, conditions } }, { generation: 3 });
  assert.equal(computeStatus(flux([{ type: 'Ready', status: 'True' }])).status, 'Current');
  assert.equal(computeStatus(flux([{ type: 'Ready', status: 'True' }], 2)).status, 'InProgress');
  assert.equal(computeStatus(flux([{ type: 'Ready', status: 'False', reason: 'InstallFailed', message: 'boom' }])).status, 'InProgress');
  assert.deepEqual(computeStatus(flux([{ type: 'Ready', status: 'False' }, { type: 'Stalled', status: 'True', reason: 'InvalidChart', message: 'bad chart' }])), { status: 'Failed', message: 'bad chart' });
  assert.equal(computeStatus(flux([{ type: 'Ready', status: 'True' }, { type: 'Reconciling', status: 'True', message: 'upgrading' }])).status, 'InProgress');
  assert.equal(computeStatus(flux([], -1)).status, 'InProgress');
  assert.equal(computeStatus(obj('example.com/v1', 'Foo')).status, 'Current');
  assert.equal(computeStatus(obj('v1', 'ConfigMap', {}, { deletionTimestamp: '2024-01-01T00:00:00Z' })).status, 'Terminating');
});
