import { randomBytes } from 'node:crypto';
import type { KubeClient } from '../client/client.ts';
import { splitApiVersion, type KubeObject } from '../client/objects.ts';
import type { Logger } from '../log/logger.ts';
import { rfc3339 } from '../reconcile/conditions.ts';

export type EventType = 'Normal' | 'Warning';

/** What the in-process bus carries; the notification dispatcher subscribes to it. */
export interface FlotillaEvent {
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid?: string | undefined };
  type: EventType;
  severity: 'info' | 'error';
  reason: string;
  message: string;
  /** Flux puts the revision under `<group>/revision`, plus other metadata. */
  metadata: Record<string, string>;
  reportingController: string;
  timestamp: string;
}

export type EventListener = (e: FlotillaEvent) => void;

/** A synchronous fan-out; listeners must not throw (errors are logged and swallowed). */
export class EventBus {
  private readonly listeners = new Set<EventListener>();
  constructor(private readonly log?: Logger) {}
  subscribe(l: EventListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  publish(e: FlotillaEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log?.error({ err }, 'event listener failed');
      }
    }
  }
}

export interface RecordOptions {
  revision?: string | undefined;
  /** More annotations (Flux: token, commit status, …), keys without the group prefix. */
  metadata?: Record<string, string>;
}

interface Aggregate {
  name: string;
  namespace: string;
  count: number;
  first: string;
}

/**
 * Writes Kubernetes Events (core/v1) for an object, like Flux's recorder: the revision
 * goes in the annotations keyed `<group>/revision`, identical events within the
 * aggregation window bump `count` instead of creating new objects.
 */
export class EventRecorder {
  private readonly recent = new Map<string, Aggregate & { at: number }>();

  constructor(
    private readonly client: KubeClient,
    private readonly bus: EventBus,
    private readonly component: string,
    private readonly log: Logger,
    private readonly windowMs = 10 * 60_000,
  ) {}

  async record(obj: KubeObject, type: EventType, reason: string, message: string, opts: RecordOptions = {}): Promise<void> {
    const { group } = splitApiVersion(obj.apiVersion);
    const namespace = obj.metadata.namespace ?? 'default';
    const annotations: Record<string, string> = {};
    if (opts.revision) annotations[`${group}/revision`] = opts.revision;
    for (const [k, v] of Object.entries(opts.metadata ?? {})) annotations[`${group}/${k}`] = v;
    const now = new Date();
    const ts = rfc3339(now);
    this.bus.publish({
      involvedObject: { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace, uid: obj.metadata.uid },
      type,
      severity: type === 'Warning' ? 'error' : 'info',
      reason,
      message,
      metadata: annotations,
      reportingController: this.component,
      timestamp: ts,
    });
    const key = [obj.metadata.uid ?? `${namespace}/${obj.metadata.name}`, type, reason, message, opts.revision ?? ''].join('\u0000');
    const agg = this.recent.get(key);
    try {
      if (agg && now.getTime() - agg.at < this.windowMs) {
        agg.count++;
        agg.at = now.getTime();
        await this.client.patch(
          { apiVersion: 'v1', kind: 'Event', namespace: agg.namespace, name: agg.name },
          { count: agg.count, lastTimestamp: ts },
        );
        return;
      }
      const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
      await this.client.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace, ...(Object.keys(annotations).length ? { annotations } : {}) },
        involvedObject: {
          apiVersion: obj.apiVersion,
          kind: obj.kind,
          name: obj.metadata.name,
          namespace,
          ...(obj.metadata.uid ? { uid: obj.metadata.uid } : {}),
          ...(obj.metadata.resourceVersion ? { resourceVersion: obj.metadata.resourceVersion } : {}),
        },
        reason,
        message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
        type,
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.component,
        firstTimestamp: ts,
        lastTimestamp: ts,
        count: 1,
      });
      this.recent.set(key, { name, namespace, count: 1, first: ts, at: now.getTime() });
      if (this.recent.size > 5000) this.prune(now.getTime());
    } catch (e) {
      // an event is best effort: failing to write one must not fail the reconcile
      this.log.warn({ err: e instanceof Error ? e.message : String(e), reason }, 'could not record event');
    }
  }

  private prune(now: number): void {
    for (const [k, v] of this.recent) if (now - v.at > this.windowMs) this.recent.delete(k);
  }
}
