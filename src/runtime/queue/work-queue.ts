import { MAX_TIMER_DELAY_MS, systemClock, type Clock, type TimerHandle } from './clock.ts';
import { ExponentialFailureRateLimiter, type RateLimiter } from './rate-limiter.ts';

/**
 * Hooks for controller-runtime's work-queue metrics. The metrics module maps them to
 * `workqueue_depth`, `workqueue_adds_total`, `workqueue_retries_total`,
 * `workqueue_queue_duration_seconds` and `workqueue_work_duration_seconds`;
 * `unfinished_work_seconds` and `longest_running_processor_seconds` are read on scrape
 * through WorkQueue.unfinishedWorkSeconds / longestRunningProcessorSeconds.
 */
export interface WorkQueueMetrics {
  /** The number of keys ready to be handed out, after every change. */
  depth?(depth: number): void;
  /** A key was queued (a re-add of a key that is already queued does not count). */
  added?(): void;
  /** A key was scheduled for a rate-limited retry. */
  retried?(): void;
  /** Seconds a key waited between being queued and being handed to a worker. */
  queueLatency?(seconds: number): void;
  /** Seconds a worker held a key, from `get` to `done`. */
  workDuration?(seconds: number): void;
}

export interface WorkQueueOptions {
  /** The controller name, for metrics labels. */
  name?: string;
  rateLimiter?: RateLimiter;
  clock?: Clock;
  metrics?: WorkQueueMetrics;
}

interface DelayedAdd {
  dueAt: number;
  timer: TimerHandle;
}

/**
 * A keyed, level-triggered work queue with controller-runtime's guarantees:
 * - a key queued several times is handed out once;
 * - a key is never held by two workers: added while held, it is marked dirty and
 *   queued again when the holder calls `done`;
 * - delayed adds of one key merge to the earliest due time;
 * - rate-limited adds back off per key until `forget`.
 * Keys are handed out in FIFO order.
 */
export class WorkQueue {
  readonly name: string;
  readonly #rateLimiter: RateLimiter;
  readonly #clock: Clock;
  readonly #metrics: WorkQueueMetrics;

  /** Keys ready to be handed out; a Set keeps insertion order, which gives FIFO. */
  readonly #ready = new Set<string>();
  /** Keys that need processing: the ready ones plus held ones re-added while held. */
  readonly #dirty = new Set<string>();
  /** When each dirty key was first queued, for the latency metric. */
  readonly #queuedAt = new Map<string, number>();
  /** Keys held by a worker, with the time they were handed out. */
  readonly #processing = new Map<string, number>();
  readonly #delayed = new Map<string, DelayedAdd>();
  readonly #getters: Array<(key: string | undefined) => void> = [];
  readonly #drainWaiters: Array<() => void> = [];
  #shuttingDown = false;

  constructor(options: WorkQueueOptions = {}) {
    this.name = options.name ?? '';
    this.#rateLimiter = options.rateLimiter ?? new ExponentialFailureRateLimiter();
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics ?? {};
  }

  /** Queues `key` now. A no-op if it is already queued or after shutdown. */
  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#metrics.added?.();
    this.#dirty.add(key);
    this.#queuedAt.set(key, this.#clock.now());
    if (this.#processing.has(key)) return;
    this.#ready.add(key);
    this.#reportDepth();
    this.#handOut();
  }

  /**
   * Queues `key` once `delayMs` has passed. If the key is already waiting, the earlier
   * of the two due times wins. A delay of zero or less queues it now.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (!(delayMs > 0)) {
      this.add(key);
      return;
    }
    const dueAt = this.#clock.now() + delayMs;
    const existing = this.#delayed.get(key);
    if (existing !== undefined) {
      if (existing.dueAt <= dueAt) return;
      this.#clock.clearTimeout(existing.timer);
    }
    this.#delayed.set(key, { dueAt, timer: this.#arm(key, dueAt) });
  }

  /** Queues `key` after its next backoff delay (one more failure counted). */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.#metrics.retried?.();
    this.addAfter(key, this.#rateLimiter.when(key));
  }

  /** Resets the backoff of `key`; call after it was processed successfully. */
  forget(key: string): void {
    this.#rateLimiter.forget(key);
  }

  /** Failures counted for `key` since its last `forget`. */
  numRequeues(key: string): number {
    return this.#rateLimiter.numRequeues(key);
  }

  /**
   * The next ready key, which the caller then holds until `done(key)`. Waits while
   * nothing is ready; resolves to undefined once the queue is shut down.
   */
  get(): Promise<string | undefined> {
    if (this.#shuttingDown) return Promise.resolve(undefined);
    const key = this.#take();
    if (key !== undefined) return Promise.resolve(key);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Releases `key`; if it was added while held, it is queued again. */
  done(key: string): void {
    const startedAt = this.#processing.get(key);
    if (startedAt === undefined) return;
    this.#processing.delete(key);
    this.#metrics.workDuration?.((this.#clock.now() - startedAt) / 1000);
    if (!this.#shuttingDown && this.#dirty.has(key)) {
      this.#ready.add(key);
      this.#reportDepth();
      this.#handOut();
    }
    if (this.#processing.size === 0) {
      for (const resolve of this.#drainWaiters.splice(0)) resolve();
    }
  }

  /**
   * Stops the queue: pending and delayed keys are dropped (the work is level-triggered
   * and will be rediscovered on start), waiting `get` calls resolve to undefined, and
   * later adds are ignored. Keys already held stay held until `done`.
   */
  shutDown(): void {
    if (this.#shuttingDown) return;
    this.#shuttingDown = true;
    for (const delayed of this.#delayed.values()) this.#clock.clearTimeout(delayed.timer);
    this.#delayed.clear();
    this.#ready.clear();
    this.#dirty.clear();
    this.#queuedAt.clear();
    this.#reportDepth();
    for (const resolve of this.#getters.splice(0)) resolve(undefined);
  }

  /** Shuts down, then resolves once every held key has been released with `done`. */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Keys ready to be handed out (the `workqueue_depth` figure). */
  len(): number {
    return this.#ready.size;
  }

  /** Keys waiting for a delayed or rate-limited add to fall due. */
  delayedLen(): number {
    return this.#delayed.size;
  }

  /** Keys currently held by workers. */
  processingLen(): number {
    return this.#processing.size;
  }

  /** Total seconds that held keys have been held, for `workqueue_unfinished_work_seconds`. */
  unfinishedWorkSeconds(): number {
    const now = this.#clock.now();
    let total = 0;
    for (const startedAt of this.#processing.values()) total += now - startedAt;
    return total / 1000;
  }

  /** Seconds the longest-held key has been held, for `workqueue_longest_running_processor_seconds`. */
  longestRunningProcessorSeconds(): number {
    const now = this.#clock.now();
    let longest = 0;
    for (const startedAt of this.#processing.values()) longest = Math.max(longest, now - startedAt);
    return longest / 1000;
  }

  #take(): string | undefined {
    const next = this.#ready.values().next();
    if (next.done === true) return undefined;
    const key = next.value;
    const now = this.#clock.now();
    this.#ready.delete(key);
    this.#dirty.delete(key);
    this.#processing.set(key, now);
    const queuedAt = this.#queuedAt.get(key);
    this.#queuedAt.delete(key);
    if (queuedAt !== undefined) this.#metrics.queueLatency?.((now - queuedAt) / 1000);
    this.#reportDepth();
    return key;
  }

  #handOut(): void {
    while (this.#getters.length > 0 && this.#ready.size > 0) {
      const resolve = this.#getters.shift();
      const key = this.#take();
      if (resolve !== undefined && key !== undefined) resolve(key);
    }
  }

  #arm(key: string, dueAt: number): TimerHandle {
    const wait = Math.min(Math.max(dueAt - this.#clock.now(), 0), MAX_TIMER_DELAY_MS);
    return this.#clock.setTimeout(() => this.#onDue(key), wait);
  }

  #onDue(key: string): void {
    const delayed = this.#delayed.get(key);
    if (delayed === undefined) return;
    if (delayed.dueAt > this.#clock.now()) {
      // Either the delay was longer than one timer may wait, or the timer fired early.
      delayed.timer = this.#arm(key, delayed.dueAt);
      return;
    }
    this.#delayed.delete(key);
    this.add(key);
  }

  #reportDepth(): void {
    this.#metrics.depth?.(this.#ready.size);
  }
}
