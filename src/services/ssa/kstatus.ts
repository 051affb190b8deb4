/**
 * kstatus: whether an object has reached the state its spec asks for, by the rules of
 * sigs.k8s.io/cli-utils pkg/kstatus/status (which Flux, `flux` and `kubectl wait` share).
 * Pure functions over unstructured objects.
 */
import type { KubeObject } from '../../runtime/client/objects.ts';

export type KStatus = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';

export interface StatusResult {
  status: KStatus;
  message: string;
}

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

function field(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function int(obj: unknown, path: string, dflt: number): number {
  const v = field(obj, path);
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

function str(obj: unknown, path: string, dflt: string): string {
  const v = field(obj, path);
  return typeof v === 'string' ? v : dflt;
}

function conditionsOf(obj: KubeObject): Condition[] {
  const c = field(obj, 'status.conditions');
  return Array.isArray(c) ? (c.filter((x) => typeof x === 'object' && x !== null) as Condition[]) : [];
}

const current = (message: string): StatusResult => ({ status: 'Current', message });
const inProgress = (message: string): StatusResult => ({ status: 'InProgress', message });
const failed = (message: string): StatusResult => ({ status: 'Failed', message });

/** Deletion, generation not yet observed, Reconciling and Stalled conditions: rules shared by every kind. */
function genericProperties(obj: KubeObject): StatusResult | undefined {
  if (obj.metadata.deletionTimestamp) return { status: 'Terminating', message: 'Resource scheduled for deletion' };
  const generation = obj.metadata.generation;
  const observed = field(obj, 'status.observedGeneration');
  if (typeof generation === 'number' && typeof observed === 'number' && observed !== generation) {
    return inProgress(`${obj.kind} generation is ${generation}, but latest observed generation is ${observed}`);
  }
  for (const c of conditionsOf(obj)) {
    if (c.type === 'Reconciling' && c.status === 'True') return inProgress(c.message ?? c.reason ?? 'Reconciling');
    if (c.type === 'Stalled' && c.status === 'True') return failed(c.message ?? c.reason ?? 'Stalled');
  }
  return undefined;
}

function deployment(obj: KubeObject): StatusResult {
  let progressing = int(obj, 'spec.progressDeadlineSeconds', Number.MAX_SAFE_INTEGER) === Number.MAX_SAFE_INTEGER;
  let available = false;
  for (const c of conditionsOf(obj)) {
    if (c.type === 'Progressing') {
      if (c.reason === 'ProgressDeadlineExceeded') return failed('Progress deadline exceeded');
      if (c.status === 'True' && c.reason === 'NewReplicaSetAvailable') progressing = true;
    }
    if (c.type === 'Available' && c.status === 'True') available = true;
  }
  const spec = int(obj, 'spec.replicas', 1);
  const replicas = int(obj, 'status.replicas', 0);
  const updated = int(obj, 'status.updatedReplicas', 0);
  const ready = int(obj, 'status.readyReplicas', 0);
  const avail = int(obj, 'status.availableReplicas', 0);
  if (spec > replicas) return inProgress(`Replicas: ${replicas}/${spec}`);
  if (spec > updated) return inProgress(`Updated: ${updated}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec}`);
  if (updated > avail) return inProgress(`Available: ${avail}/${updated}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (!progressing) return inProgress('ReplicaSet not Available');
  if (!available) return inProgress('Deployment not Available');
  return current(`Deployment is available. Replicas: ${replicas}`);
}

function statefulSet(obj: KubeObject): StatusResult {
  if (str(obj, 'spec.updateStrategy.type', '') === 'OnDelete') return current('StatefulSet is using the ondelete update strategy');
  const spec = int(obj, 'spec.replicas', 1);
  const ready = int(obj, 'status.readyReplicas', 0);
  const currentReplicas = int(obj, 'status.currentReplicas', 0);
  const updated = int(obj, 'status.updatedReplicas', 0);
  const replicas = int(obj, 'status.replicas', 0);
  const partition = int(obj, 'spec.updateStrategy.rollingUpdate.partition', -1);
  if (spec > replicas) return inProgress(`Replicas: ${replicas}/${spec}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec}`);
  if (partition !== -1) {
    if (updated < spec - partition) return inProgress(`updated: ${updated}/${spec - partition}`);
    return current(`Partition rollout complete. updated: ${updated}`);
  }
  if (spec > currentReplicas) return inProgress(`current: ${currentReplicas}/${spec}`);
  if (str(obj, 'status.currentRevision', '') !== str(obj, 'status.updateRevision', '')) return inProgress('Waiting for updated revision to match current');
  return current(`All replicas scheduled as expected. Replicas: ${replicas}`);
}

function daemonSet(obj: KubeObject): StatusResult {
  if (typeof obj.metadata.generation !== 'number') return inProgress('DaemonSet metadata.generation not found');
  if (typeof field(obj, 'status.observedGeneration') !== 'number') return inProgress('DaemonSet status.observedGeneration not found');
  const desired = int(obj, 'status.desiredNumberScheduled', -1);
  const currentScheduled = int(obj, 'status.currentNumberScheduled', 0);
  const updated = int(obj, 'status.updatedNumberScheduled', 0);
  const available = int(obj, 'status.numberAvailable', 0);
  const ready = int(obj, 'status.numberReady', 0);
  if (desired === -1) return inProgress('Missing .status.desiredNumberScheduled');
  if (desired > currentScheduled) return inProgress(`Current: ${currentScheduled}/${desired}`);
  if (desired > updated) return inProgress(`Updated: ${updated}/${desired}`);
  if (desired > available) return inProgress(`Available: ${available}/${desired}`);
  if (desired > ready) return inProgress(`Ready: ${ready}/${desired}`);
  return current(`All replicas scheduled as expected. Replicas: ${desired}`);
}

function replicaSet(obj: KubeObject): StatusResult {
  if (conditionsOf(obj).some((c) => c.type === 'ReplicaFailure' && c.status === 'True')) return inProgress('Replica Failure condition. Check Pods');
  const spec = int(obj, 'spec.replicas', 1);
  const replicas = int(obj, 'status.replicas', 0);
  const ready = int(obj, 'status.readyReplicas', 0);
  const available = int(obj, 'status.availableReplicas', 0);
  const labelled = int(obj, 'status.fullyLabeledReplicas', 0);
  if (spec > labelled) return inProgress(`Labelled: ${labelled}/${spec}`);
  if (spec > available) return inProgress(`Available: ${available}/${spec}`);
  if (spec > ready) return inProgress(`Ready: ${ready}/${spec}`);
  if (replicas > spec) return inProgress(`Pending termination: ${replicas - spec}`);
  return current(`ReplicaSet is available. Replicas: ${replicas}`);
}

function job(obj: KubeObject): StatusResult {
  const parallelism = int(obj, 'spec.parallelism', 1);
  const completions = int(obj, 'spec.completions', parallelism);
  const succeeded = int(obj, 'status.succeeded', 0);
  const active = int(obj, 'status.active', 0);
  const failedPods = int(obj, 'status.failed', 0);
  for (const c of conditionsOf(obj)) {
    if (c.type === 'Complete' && c.status === 'True') return current(`Job Completed. succeeded: ${succeeded}/${completions}`);
    if (c.type === 'Failed' && c.status === 'True') return failed(`Job Failed. failed: ${failedPods}/${completions}`);
    if (c.type === 'Suspended' && c.status === 'True' && field(obj, 'spec.suspend') === true) return current('Job is suspended');
  }
  if (!str(obj, 'status.startTime', '')) return inProgress('Job not started');
  return current(`Job in progress. success:${succeeded}, active: ${active}, failed: ${failedPods}`);
}

/** How long an unschedulable Pod counts as "not scheduled yet" rather than Failed. */
const SCHEDULE_WINDOW_MS = 15_000;

function pod(obj: KubeObject, now: number): StatusResult {
  const phase = str(obj, 'status.phase', '');
  const conditions = conditionsOf(obj);
  switch (phase) {
    case 'Succeeded':
      return current('Pod has completed successfully');
    case 'Failed':
      return current('Pod has completed, but not successfully');
    case 'Running': {
      if (conditions.some((c) => c.type === 'Ready' && c.status === 'True')) return current('Pod is Ready');
      const statuses = field(obj, 'status.containerStatuses');
      const crashing = Array.isArray(statuses)
        ? statuses.filter((s) => str(s, 'state.waiting.reason', '') === 'CrashLoopBackOff').map((s) => str(s, 'name', ''))
        : [];
      if (crashing.length) return failed(`Containers in CrashLoop state: ${crashing.join(',')}`);
      return inProgress('Pod is running but is not Ready');
    }
    case 'Pending': {
      const unschedulable = conditions.find((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
      if (unschedulable) {
        const created = Date.parse(obj.metadata.creationTimestamp ?? '');
        if (Number.isFinite(created) && now - created < SCHEDULE_WINDOW_MS) return inProgress('Pod has not been scheduled');
        return failed('Pod could not be scheduled');
      }
      return inProgress('Pod is in the Pending phase');
    }
    case '':
      return inProgress('Pod phase not available');
    default:
      return { status: 'Unknown', message: `unknown phase ${phase}` };
  }
}

function pvc(obj: KubeObject): StatusResult {
  const phase = str(obj, 'status.phase', 'unknown');
  return phase === 'Bound' ? current('PVC is Bound') : inProgress(`PVC is not Bound. phase: ${phase}`);
}

function service(obj: KubeObject): StatusResult {
  if (str(obj, 'spec.type', 'ClusterIP') === 'LoadBalancer' && !str(obj, 'spec.clusterIP', '')) {
    return inProgress('ClusterIP not set. Service type: LoadBalancer');
  }
  return current('Service is ready');
}

function crd(obj: KubeObject): StatusResult {
  for (const c of conditionsOf(obj)) {
    if (c.type === 'NamesAccepted' && c.status === 'False') return failed(c.message ?? c.reason ?? 'names not accepted');
    if (c.type === 'Established') {
      if (c.status === 'False' && c.reason !== 'Installing') return failed(c.message ?? c.reason ?? 'not established');
      if (c.status === 'True') return current('CRD is established');
    }
  }
  return inProgress('Install in progress');
}

const alwaysReady = (): StatusResult => current('Resource is always ready');

type Rule = (obj: KubeObject, now: number) => StatusResult;

/** Kind-specific rules, keyed `group/Kind` (core group: `Kind`), as kstatus's legacy types. */
const RULES: Record<string, Rule> = {
  Service: service,
  Pod: pod,
  Secret: alwaysReady,
  ConfigMap: alwaysReady,
  PersistentVolumeClaim: pvc,
  'apps/StatefulSet': statefulSet,
  'apps/DaemonSet': daemonSet,
  'extensions/DaemonSet': daemonSet,
  'apps/Deployment': deployment,
  'extensions/Deployment': deployment,
  'apps/ReplicaSet': replicaSet,
  'extensions/ReplicaSet': replicaSet,
  'policy/PodDisruptionBudget': () => current('AllowedDisruptions has been computed.'),
  'batch/CronJob': alwaysReady,
  'batch/Job': job,
  'apiextensions.k8s.io/CustomResourceDefinition': crd,
};

function ruleKey(obj: KubeObject): string {
  const i = obj.apiVersion.indexOf('/');
  return i < 0 ? obj.kind : `${obj.apiVersion.slice(0, i)}/${obj.kind}`;
}

/**
 * The kstatus of an object. Any other kind (Flux's own kinds included) is Current when
 * its generation is observed, it is neither Reconciling nor Stalled, and a `Ready`
 * condition, if present, is True; `Ready` False or Unknown is InProgress, `Stalled` Failed.
 * Objects without status are Current.
 */
export function computeStatus(obj: KubeObject, now = Date.now()): StatusResult {
  const generic = genericProperties(obj);
  if (generic) return generic;
  const rule = RULES[ruleKey(obj)];
  if (rule) return rule(obj, now);
  const ready = conditionsOf(obj).find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return current('Resource is Ready');
  if (ready?.status === 'False' || ready?.status === 'Unknown') return inProgress(ready.message || ready.reason || `Ready is ${ready.status}`);
  return current('Resource is current');
}
