/**
 * Time as the work queue sees it. Production uses the system clock; tests drive a
 * ManualClock so that backoff and delayed adds can be checked without sleeping.
 */

export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds on a monotonic-enough scale; only differences are used. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The longest delay Node's setTimeout honours (2^31 - 1 ms, about 24.8 days). A longer
 * delay is silently turned into 1 ms, which would make a long `spec.interval` spin.
 * Callers arm timers for at most this long and re-arm when they fire early.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

interface ManualTimer {
  readonly id: number;
  readonly dueAt: number;
  readonly callback: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in due order during `advance`.
 * Like Node, a delay above MAX_TIMER_DELAY_MS becomes 1 ms, so code that forgets to
 * clamp long delays misbehaves here as it would in production.
 */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, ManualTimer>();

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const effective = delayMs > MAX_TIMER_DELAY_MS || !(delayMs >= 1) ? 1 : delayMs;
    const id = this.#nextId++;
    this.#timers.set(id, { id, dueAt: this.#now + effective, callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }

  /** Number of timers armed and not yet fired. */
  pendingTimers(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, earliest first. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers.values()) {
        if (t.dueAt <= target && (next === undefined || t.dueAt < next.dueAt || (t.dueAt === next.dueAt && t.id < next.id))) {
          next = t;
        }
      }
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = Math.max(this.#now, next.dueAt);
      next.callback();
    }
    this.#now = target;
  }
}
