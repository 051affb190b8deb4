/**
 * Per-key retry delays. Flux replaces controller-runtime's default limiter (5 ms base
 * plus a shared token bucket) with a pure per-item exponential one bounded by
 * `--min-retry-delay` and `--max-retry-delay` (fluxcd/pkg runtime/controller).
 */

/** Flux's `--min-retry-delay` default. */
export const DEFAULT_MIN_RETRY_DELAY_MS = 750;
/** Flux's `--max-retry-delay` default (15 minutes). */
export const DEFAULT_MAX_RETRY_DELAY_MS = 15 * 60 * 1000;

export interface RateLimiter {
  /** The delay before the next retry of `key`; each call counts as one more failure. */
  when(key: string): number;
  /** Clears the failure history of `key` (called after a success). */
  forget(key: string): void;
  /** How many failures of `key` have been counted since the last `forget`. */
  numRequeues(key: string): number;
}

export interface ExponentialBackoffOptions {
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** Delay = min × 2^failures, capped at max: 750 ms, 1.5 s, 3 s, … 15 min with Flux's defaults. */
export class ExponentialFailureRateLimiter implements RateLimiter {
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  #failures = new Map<string, number>();

  constructor(options: ExponentialBackoffOptions = {}) {
    const min = options.minDelayMs ?? DEFAULT_MIN_RETRY_DELAY_MS;
    const max = options.maxDelayMs ?? DEFAULT_MAX_RETRY_DELAY_MS;
    if (!Number.isFinite(min) || min < 0) throw new RangeError(`minimum retry delay must be a non-negative number, got ${min}`);
    if (!Number.isFinite(max) || max < min) throw new RangeError(`maximum retry delay must be at least the minimum (${min} ms), got ${max}`);
    this.minDelayMs = min;
    this.maxDelayMs = max;
  }

  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2 ** 1100 is Infinity, which Math.min handles; no overflow to worry about.
    return Math.min(this.minDelayMs * 2 ** failures, this.maxDelayMs);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}
