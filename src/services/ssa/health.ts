/**
 * Health checks: poll objects until every one is Current by kstatus rules, or until the
 * timeout, and say which ones were not, in Flux's words:
 * `timeout waiting for: [Deployment/default/web status: 'InProgress']`.
 */
import type { KubeClient } from '../../runtime/client/client.ts';
import { isNotFound } from '../../runtime/client/errors.ts';
import { describeRef, type KubeObject, type ObjectRef } from '../../runtime/client/objects.ts';
import { errorMessage } from '../../runtime/errors.ts';
import { mapLimit, sleep } from './concurrency.ts';
import { idOf } from './inventory.ts';
import { computeStatus, type KStatus } from './kstatus.ts';

export interface HealthResult {
  ref: ObjectRef;
  subject: string;
  status: KStatus;
  message: string;
}

export interface HealthReport {
  healthy: boolean;
  results: HealthResult[];
  /** Empty when healthy; otherwise Flux's summary of the objects that are not Current. */
  message: string;
  timedOut: boolean;
  /** `signal` aborted the wait (Flux's HealthCheckCanceled). */
  canceled: boolean;
}

export interface HealthOptions {
  timeoutMs: number;
  /** The longest pause between two polls (Flux polls every 5 s); the first polls come sooner. */
  pollMs?: number;
  /** Stop at the first Failed object instead of waiting for the others (Flux's default). */
  failFast?: boolean;
  /** Inventory ids of Jobs with `ttlSecondsAfterFinished`: once gone they count as completed. */
  jobsWithTTL?: Iterable<string>;
  /** Parallel GETs per poll. */
  concurrency?: number;
  signal?: AbortSignal;
  /**
   * A status rule that takes precedence over kstatus's for the objects it covers
   * (`healthCheckExprs`); undefined for the others. A throw makes the object Unknown.
   */
  statusOf?: (obj: KubeObject) => { status: KStatus; message: string } | undefined;
  /** Called once when the first poll finds objects not yet Current: the wait begins. */
  onPending?: () => Promise<void>;
  /** Counts the requests made (for tests and benchmarks). */
  stats?: { gets: number };
}

const FIRST_POLL_MS = 250;

async function observe(client: KubeClient, ref: ObjectRef, ttlJobs: Set<string>, opts: HealthOptions): Promise<HealthResult> {
  const stats = opts.stats;
  const subject = describeRef(ref);
  try {
    if (stats) stats.gets++;
    const obj = await client.get<KubeObject>(ref);
    if (!obj) {
      return ttlJobs.has(idOf(ref))
        ? { ref, subject, status: 'Current', message: 'Job completed and was deleted after its TTL' }
        : { ref, subject, status: 'NotFound', message: 'Resource not found' };
    }
    return { ref, subject, ...(opts.statusOf?.(obj) ?? computeStatus(obj)) };
  } catch (e) {
    if (isNotFound(e)) return { ref, subject, status: 'NotFound', message: errorMessage(e) };
    return { ref, subject, status: 'Unknown', message: errorMessage(e) };
  }
}

function describe(r: HealthResult): string {
  return r.status === 'Unknown' ? `${r.subject} status: '${r.status}': ${r.message}` : `${r.subject} status: '${r.status}'`;
}

/** Polls `refs` until all are Current, one has Failed (with failFast), the rest cannot change, or time runs out. */
export async function checkHealth(client: KubeClient, refs: readonly ObjectRef[], opts: HealthOptions): Promise<HealthReport> {
  const deadline = performance.now() + opts.timeoutMs;
  const pollMs = Math.max(opts.pollMs ?? 5000, 10);
  const ttlJobs = new Set(opts.jobsWithTTL ?? []);
  const latest = new Map<string, HealthResult>();
  const unique = new Map<string, ObjectRef>();
  for (const r of refs) unique.set(idOf(r), r);
  let pending = [...unique.entries()];
  let pause = Math.min(FIRST_POLL_MS, pollMs);
  let timedOut = false;
  let canceled = false;
  let first = true;

  for (;;) {
    const observed = await mapLimit(pending, opts.concurrency ?? 8, ([, ref]) => observe(client, ref, ttlJobs, opts));
    pending.forEach(([id], i) => latest.set(id, observed[i] as HealthResult));
    pending = pending.filter(([id]) => latest.get(id)?.status !== 'Current');
    if (pending.length === 0) break;
    const statuses = [...latest.values()].map((r) => r.status);
    if (opts.failFast !== false && statuses.includes('Failed')) break;
    // only Current and Failed left: nothing will change by waiting (kstatus's terminal state)
    if (statuses.every((s) => s === 'Current' || s === 'Failed')) break;
    if (opts.signal?.aborted) {
      canceled = true;
      break;
    }
    if (first) await opts.onPending?.();
    first = false;
    const left = deadline - performance.now();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    await sleep(Math.min(pause, left), opts.signal);
    pause = Math.min(pause * 2, pollMs);
    if (opts.signal?.aborted) {
      canceled = true;
      break;
    }
  }

  const results = [...unique.keys()].map((id) => latest.get(id) as HealthResult);
  const healthy = results.every((r) => r.status === 'Current');
  let message = '';
  if (!healthy) {
    if (timedOut || canceled) {
      const list = results.filter((r) => r.status !== 'Current').map(describe);
      message = `${canceled ? 'health check canceled while waiting for' : 'timeout waiting for'}: [${list.join(', ')}]`;
    } else {
      const list = results.filter((r) => r.status === 'Failed').map(describe);
      message = `failed early due to stalled resources: [${list.join(', ')}]`;
    }
  }
  return { healthy, results, message, timedOut, canceled };
}

/** Inventory ids of the Jobs among `objects` that delete themselves after finishing. */
export function jobsWithTTL(objects: readonly KubeObject[]): string[] {
  return objects
    .filter((o) => o.kind === 'Job' && o.apiVersion.startsWith('batch/'))
    .filter((o) => typeof (o['spec'] as { ttlSecondsAfterFinished?: unknown } | undefined)?.ttlSecondsAfterFinished === 'number')
    .map((o) => idOf({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace }));
}
