import type { KubeClient } from '../client/client.ts';
import type { KubeObject } from '../client/objects.ts';
import type { EventType, RecordOptions } from '../events/recorder.ts';
import type { Logger } from '../log/logger.ts';
import type { ReconcileError } from '../errors.ts';
import type { Condition, ConditionStatus } from './conditions.ts';

export const FINALIZER = 'finalizers.fluxcd.io';
export const REQUESTED_AT_ANNOTATION = 'reconcile.fluxcd.io/requestedAt';

export interface FluxStatus {
  conditions?: Condition[];
  observedGeneration?: number;
  lastHandledReconcileAt?: string;
  [field: string]: unknown;
}

/** Any object reconciled by the runtime: a spec with the usual Flux knobs and a status. */
export interface FluxObject extends KubeObject {
  spec?: { suspend?: boolean; interval?: string; [field: string]: unknown };
  status?: FluxStatus;
}

export interface PendingEvent {
  type: EventType;
  reason: string;
  message: string;
  opts: RecordOptions;
}

/** What a step sees: the object as cached (read-only), a working copy of its status, and scratch state. */
export interface StepContext<O extends FluxObject, S> {
  readonly obj: O;
  readonly status: FluxStatus & { conditions: Condition[] };
  readonly state: S;
  readonly log: Logger;
  /** Aborted when the object is deleted or its spec changes mid-reconcile (long waits stop early). */
  readonly signal: AbortSignal;
  /** Sets a kind-specific condition with the object's generation. */
  condition(type: string, status: ConditionStatus, reason: string, message: string): void;
  /** Removes a condition (a negative-polarity one such as FetchFailed, once fixed). */
  clear(type: string): void;
  /**
   * Tells watchers that long work has begun, at once (not at the end): writes the status
   * so far with `Reconciling=True` (reason Progressing, `message`), `Ready=Unknown`
   * ("Reconciliation in progress") and each of `unknown` conditions as Unknown with
   * `message`. One status patch; a failure to write it is logged, not fatal.
   */
  progress(message: string, unknown?: readonly string[]): Promise<void>;
  /** Queues an event; events are written after the status patch. */
  event(type: EventType, reason: string, message: string, opts?: RecordOptions): void;
}

export type StepResult = void | { requeueAfterMs?: number; stop?: boolean };

export interface Step<O extends FluxObject, S> {
  readonly name: string;
  run(ctx: StepContext<O, S>): Promise<StepResult>;
}

export interface ReconcilerDefinition<O extends FluxObject, S> {
  apiVersion: string;
  kind: string;
  /** Field manager for status writes and the events' reporting component (Flux's controller name). */
  controllerName: string;
  /** Add `finalizers.fluxcd.io` and run `finalize` on deletion. */
  finalizer: boolean;
  newState(obj: O): S;
  steps: ReadonlyArray<Step<O, S>>;
  /** Cleans up on deletion (artifacts, pruning); errors retry with backoff. */
  finalize?(obj: O, log: Logger): Promise<void>;
  /**
   * Last word on the status before it is written, knowing the outcome (`failure` is
   * undefined on success): kind-specific records such as Kustomization's `history`.
   */
  finish?(ctx: StepContext<O, S>, failure: ReconcileError | undefined): void;
  /** Runs after the steps, whatever happened (temp dirs are removed here). */
  cleanup?(state: S): Promise<void>;
  /** The success message for Ready=True, e.g. "stored artifact for revision 'main@sha1:…'". */
  readyMessage(ctx: StepContext<O, S>): string;
  /** Requeue after success; `spec.interval` normally. */
  intervalMs(obj: O): number;
  /**
   * Flux's `spec.retryInterval`: when set, a transient failure is retried after this
   * delay instead of the queue's exponential backoff.
   */
  retryIntervalMs?(obj: O): number | undefined;
  /** Requeue for a waiting error without its own delay (`--requeue-dependency`). */
  dependencyRequeueMs?: number;
  /** Labels for gotk_resource_info beyond kind/namespace/name/ready/suspended. */
  resourceInfo?(obj: O, status: FluxStatus): Record<string, string>;
}

export interface ReconcileDeps {
  client: KubeClient;
  log: Logger;
  recordEvent(obj: KubeObject, type: EventType, reason: string, message: string, opts: RecordOptions): Promise<void>;
  metrics?: {
    observe(kind: string, namespace: string, name: string, seconds: number): void;
    conditions(kind: string, namespace: string, name: string, conds: Condition[], deleted?: boolean): void;
    suspend(kind: string, namespace: string, name: string, suspended: boolean): void;
    info(kind: string, namespace: string, name: string, labels: Record<string, string>): void;
    forget(kind: string, namespace: string, name: string): void;
  };
  now?: () => Date;
}

export interface ReconcileOutcome {
  requeueAfterMs?: number;
}
