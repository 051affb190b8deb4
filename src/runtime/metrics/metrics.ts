import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const CONDITION_STATUSES = ['True', 'False', 'Unknown', 'Deleted'] as const;

/**
 * Prometheus metrics under Flux's names, so dashboards and alert rules of both Flux eras
 * work unchanged: `gotk_reconcile_duration_seconds`, `gotk_reconcile_condition`,
 * `gotk_suspend_status` (older Flux) and `gotk_resource_info` (current Flux), plus
 * controller-runtime's work-queue and reconcile counters.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly reconcileDuration: Histogram<'kind' | 'name' | 'namespace'>;
  readonly condition: Gauge<'kind' | 'name' | 'namespace' | 'type' | 'status'>;
  readonly suspend: Gauge<'kind' | 'name' | 'namespace'>;
  readonly resourceInfo: Gauge<string>;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly maxConcurrent: Gauge<'controller'>;
  readonly queueDepth: Gauge<'name'>;
  readonly queueAdds: Counter<'name'>;
  readonly queueRetries: Counter<'name'>;
  readonly queueLatency: Histogram<'name'>;
  readonly workDuration: Histogram<'name'>;
  readonly leader: Gauge<string>;
  readonly restRequests: Counter<string>;

  constructor(opts: { processMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.reconcileDuration = new Histogram({
      name: 'gotk_reconcile_duration_seconds',
      help: 'The duration in seconds of a GitOps Toolkit resource reconciliation.',
      labelNames: ['kind', 'name', 'namespace'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.condition = new Gauge({
      name: 'gotk_reconcile_condition',
      help: 'The current condition status of a GitOps Toolkit resource reconciliation.',
      labelNames: ['kind', 'name', 'namespace', 'type', 'status'],
      registers,
    });
    this.suspend = new Gauge({
      name: 'gotk_suspend_status',
      help: 'The current suspend status of a GitOps Toolkit resource.',
      labelNames: ['kind', 'name', 'namespace'],
      registers,
    });
    this.resourceInfo = new Gauge({
      name: 'gotk_resource_info',
      help: 'The current state of a Flux resource reconciliation.',
      labelNames: ['customresource_group', 'customresource_kind', 'customresource_version', 'exported_namespace', 'name', 'ready', 'reason', 'suspended', 'source_name', 'revision', 'url', 'chart_name', 'chart_version', 'chart_app_version', 'chart_ref_name', 'chart_source_name'],
      registers,
    });
    this.reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers });
    this.reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers });
    this.reconcileTime = new Histogram({ name: 'controller_runtime_reconcile_time_seconds', help: 'Length of time per reconciliation per controller', labelNames: ['controller'], registers });
    this.activeWorkers = new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers });
    this.maxConcurrent = new Gauge({ name: 'controller_runtime_max_concurrent_reconciles', help: 'Maximum number of concurrent reconciles per controller', labelNames: ['controller'], registers });
    this.queueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers });
    this.queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers });
    this.queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers });
    this.queueLatency = new Histogram({ name: 'workqueue_queue_duration_seconds', help: 'How long in seconds an item stays in workqueue before being requested', labelNames: ['name'], buckets: [0.001, 0.01, 0.1, 1, 10, 60], registers });
    this.workDuration = new Histogram({ name: 'workqueue_work_duration_seconds', help: 'How long in seconds processing an item from workqueue takes', labelNames: ['name'], buckets: [0.001, 0.01, 0.1, 1, 10, 60], registers });
    this.restRequests = new Counter({ name: 'rest_client_requests_total', help: 'Number of HTTP requests, partitioned by status code, method, and host.', labelNames: ['code', 'method', 'host'], registers });
    this.leader = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.', labelNames: ['name'], registers });
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Records the current status of each condition as Flux does: 1 for the current status, 0 for the others. */
  recordConditions(kind: string, namespace: string, name: string, conds: ReadonlyArray<{ type: string; status: string }>, deleted = false): void {
    for (const c of conds) {
      for (const s of CONDITION_STATUSES) {
        const v = deleted ? (s === 'Deleted' ? 1 : 0) : c.status === s ? 1 : 0;
        this.condition.set({ kind, name, namespace, type: c.type, status: s }, v);
      }
    }
  }

  recordSuspend(kind: string, namespace: string, name: string, suspended: boolean): void {
    this.suspend.set({ kind, name, namespace }, suspended ? 1 : 0);
  }

  private readonly infoLabels = new Map<string, Record<string, string>>();

  /** One `gotk_resource_info` series per object: the previous label set is replaced. */
  setResourceInfo(kind: string, namespace: string, name: string, labels: Record<string, string>): void {
    const key = `${kind}/${namespace}/${name}`;
    const prev = this.infoLabels.get(key);
    if (prev) this.resourceInfo.remove(prev);
    const full = { customresource_kind: kind, exported_namespace: namespace, name, ...labels };
    this.infoLabels.set(key, full);
    this.resourceInfo.set(full, 1);
  }

  /** Drops the per-object series of a deleted object (gotk_resource_info, suspend). */
  forget(kind: string, namespace: string, name: string): void {
    this.suspend.remove({ kind, name, namespace });
    const key = `${kind}/${namespace}/${name}`;
    const prev = this.infoLabels.get(key);
    if (prev) this.resourceInfo.remove(prev);
    this.infoLabels.delete(key);
  }
}
