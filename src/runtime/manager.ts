import type { KubeClient } from './client/client.ts';
import { objectKey, type KubeObject } from './client/objects.ts';
import { EventBus, EventRecorder } from './events/recorder.ts';
import { Informer, type InformerOptions } from './cache/informer.ts';
import type { Logger } from './log/logger.ts';
import type { Metrics } from './metrics/metrics.ts';
import { ExponentialFailureRateLimiter, WorkQueue, runWorkers, withJitter, type WorkerPool } from './queue/index.ts';
import { reconcileObject } from './reconcile/runner.ts';
import { FINALIZER, type FluxObject, type ReconcileDeps, type ReconcilerDefinition } from './reconcile/types.ts';

/** What a controller gets when it registers: shared informers and a way to enqueue its own keys. */
export interface ControllerSetup<O extends FluxObject> {
  client: KubeClient;
  log: Logger;
  bus: EventBus;
  /** The informer of the controller's own kind. */
  primary: Informer<O>;
  /** A shared informer for another kind (one per kind/namespace/selector in the process). */
  informer<T extends KubeObject>(opts: InformerOptions): Informer<T>;
  enqueue(key: string): void;
  /** Aborts the reconcile of `key` in flight, if any (its signal fires); the queue runs it again. */
  cancel(key: string): void;
}

export interface Controller<O extends FluxObject = FluxObject, S = unknown> {
  /** Used in metrics and logs, e.g. `gitrepository`. */
  name: string;
  definition: ReconcilerDefinition<O, S>;
  /** Secondary watches (referenced Secrets, dependencies, sources). */
  setup?(ctx: ControllerSetup<O>): void;
}

export interface ManagerOptions {
  client: KubeClient;
  log: Logger;
  metrics: Metrics;
  bus?: EventBus;
  concurrency: number;
  /** Namespace to watch; all when undefined. */
  namespace?: string | undefined;
  /** Sharding: primary objects must match. */
  labelSelector?: string | undefined;
  minRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  jitterPercentage?: number;
  dependencyRequeueMs?: number;
}

interface Running {
  controller: Controller<FluxObject, unknown>;
  queue: WorkQueue;
  primary: Informer<FluxObject>;
  pool?: WorkerPool;
  /** Reconciles in progress, aborted when their object is deleted or its spec changes. */
  inFlight: Map<string, AbortController>;
}

/**
 * Owns the shared informers and one work queue per controller. Controllers never talk to
 * the watch API themselves: they declare what to watch, and reconcile keys.
 */
export class Manager {
  readonly bus: EventBus;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly running: Running[] = [];
  private started = false;
  private synced = false;

  constructor(private readonly opts: ManagerOptions) {
    this.bus = opts.bus ?? new EventBus(opts.log);
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  informer<T extends KubeObject>(o: InformerOptions): Informer<T> {
    const key = [o.apiVersion, o.kind, o.namespace ?? '', o.labelSelector ?? '', o.fieldSelector ?? '', o.metadataOnly ? 'meta' : ''].join('|');
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new Informer<KubeObject>(this.opts.client, o, this.opts.log);
      this.informers.set(key, inf);
      if (this.started) inf.start();
    }
    return inf as unknown as Informer<T>;
  }

  register<O extends FluxObject, S>(controller: Controller<O, S>): void {
    const { definition: def } = controller;
    const m = this.opts.metrics;
    const queue = new WorkQueue({
      name: controller.name,
      rateLimiter: new ExponentialFailureRateLimiter({
        ...(this.opts.minRetryDelayMs !== undefined ? { minDelayMs: this.opts.minRetryDelayMs } : {}),
        ...(this.opts.maxRetryDelayMs !== undefined ? { maxDelayMs: this.opts.maxRetryDelayMs } : {}),
      }),
      metrics: {
        depth: (d) => m.queueDepth.set({ name: controller.name }, d),
        added: () => m.queueAdds.inc({ name: controller.name }),
        retried: () => m.queueRetries.inc({ name: controller.name }),
        queueLatency: (s) => m.queueLatency.observe({ name: controller.name }, s),
        workDuration: (s) => m.workDuration.observe({ name: controller.name }, s),
      },
    });
    const primary = this.informer<O>({
      apiVersion: def.apiVersion,
      kind: def.kind,
      namespace: this.opts.namespace,
      labelSelector: this.opts.labelSelector,
    });
    const enqueue = (o: KubeObject): void => queue.add(objectKey(o));
    // Level-triggered: a spec change (generation), an annotation (requestedAt), labels, the
    // loss of our finalizer or deletion enqueue; our own status and finalizer writes do
    // not, or every reconcile would run twice or loop.
    primary.on('add', enqueue);
    primary.on('delete', enqueue);
    const inFlight = new Map<string, AbortController>();
    primary.on('update', (o, old) => {
      if (!old || meaningfulChange(old, o)) enqueue(o);
      if (old && (o.metadata.deletionTimestamp !== old.metadata.deletionTimestamp || o.metadata.generation !== old.metadata.generation)) {
        inFlight.get(objectKey(o))?.abort();
      }
    });
    primary.on('delete', (o) => inFlight.get(objectKey(o))?.abort());
    controller.setup?.({
      client: this.opts.client,
      log: this.opts.log,
      bus: this.bus,
      primary,
      informer: (o) => this.informer(o),
      enqueue: (key) => queue.add(key),
      cancel: (key) => inFlight.get(key)?.abort(),
    });
    this.running.push({ controller: controller as unknown as Controller<FluxObject, unknown>, queue, primary: primary as unknown as Informer<FluxObject>, inFlight });
  }

  private deps(component: string): ReconcileDeps {
    const m = this.opts.metrics;
    const recorder = new EventRecorder(this.opts.client, this.bus, component, this.opts.log);
    return {
      client: this.opts.client,
      log: this.opts.log,
      recordEvent: (obj, type, reason, message, opts) => recorder.record(obj, type, reason, message, opts),
      metrics: {
        observe: (kind, namespace, name, s) => m.reconcileDuration.observe({ kind, namespace, name }, s),
        conditions: (kind, namespace, name, conds, deleted) => m.recordConditions(kind, namespace, name, conds, deleted),
        suspend: (kind, namespace, name, suspended) => m.recordSuspend(kind, namespace, name, suspended),
        info: (kind, namespace, name, labels) => m.setResourceInfo(kind, namespace, name, labels),
        forget: (kind, namespace, name) => m.forget(kind, namespace, name),
      },
    };
  }

  /** Starts informers, waits for their caches, then starts the workers. */
  async start(): Promise<void> {
    this.started = true;
    for (const inf of this.informers.values()) inf.start();
    await Promise.all([...this.informers.values()].map((i) => i.synced));
    this.synced = true;
    const m = this.opts.metrics;
    for (const r of this.running) {
      const def = r.controller.definition;
      const deps = this.deps(def.controllerName);
      const name = r.controller.name;
      m.maxConcurrent.set({ controller: name }, this.opts.concurrency);
      r.pool = runWorkers(
        r.queue,
        this.opts.concurrency,
        async (key) => {
          const obj = r.primary.get(key);
          if (!obj) return {};
          m.activeWorkers.inc({ controller: name });
          const end = m.reconcileTime.startTimer({ controller: name });
          const abort = new AbortController();
          r.inFlight.set(key, abort);
          try {
            const out = await reconcileObject(deps, { dependencyRequeueMs: this.opts.dependencyRequeueMs ?? 30_000, ...def }, obj, abort.signal);
            m.reconcileTotal.inc({ controller: name, result: out.requeueAfterMs ? 'requeue_after' : 'success' });
            return out.requeueAfterMs !== undefined
              ? { requeueAfterMs: withJitter(out.requeueAfterMs, this.opts.jitterPercentage ?? 5) }
              : {};
          } catch (e) {
            m.reconcileTotal.inc({ controller: name, result: 'error' });
            m.reconcileErrors.inc({ controller: name });
            throw e;
          } finally {
            r.inFlight.delete(key);
            end();
            m.activeWorkers.dec({ controller: name });
          }
        },
        {
          onError: (key, err) =>
            this.opts.log.warn({ controller: name, key, err: err instanceof Error ? err.message : String(err) }, 'reconcile failed, backing off'),
        },
      );
    }
    this.opts.log.info({ controllers: this.running.map((r) => r.controller.name) }, 'controllers started');
  }

  async stop(): Promise<void> {
    await Promise.all(this.running.map((r) => r.pool?.stop()));
    await Promise.all([...this.informers.values()].map((i) => i.stop()));
  }
}

function meaningfulChange(old: KubeObject, cur: KubeObject): boolean {
  const a = old.metadata;
  const b = cur.metadata;
  return (
    a.generation !== b.generation ||
    JSON.stringify(a.annotations ?? {}) !== JSON.stringify(b.annotations ?? {}) ||
    JSON.stringify(a.labels ?? {}) !== JSON.stringify(b.labels ?? {}) ||
    // our own finalizer being added is not a reason to run again; it being taken away is
    ((a.finalizers ?? []).includes(FINALIZER) && !(b.finalizers ?? []).includes(FINALIZER)) ||
    a.deletionTimestamp !== b.deletionTimestamp
  );
}
