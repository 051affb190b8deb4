import type { WorkQueue } from './work-queue.ts';

/** What a handler asks for after a successful run (controller-runtime's `Result`). */
export interface WorkResult {
  /** Process the key again after this long (polling at `spec.interval`); not an error. */
  requeueAfterMs?: number;
  /** Process the key again after its backoff delay, without it being an error. */
  requeue?: boolean;
}

export type WorkHandler = (key: string) => Promise<WorkResult | void> | WorkResult | void;

export interface WorkerOptions {
  /** Told about every failed run; the key has already been scheduled for a retry. */
  onError?: (key: string, error: unknown) => void;
}

export interface WorkerPool {
  /** Shuts the queue down and resolves once every in-flight handler has finished. */
  stop(): Promise<void>;
  /** Resolves when all worker loops have exited, however the queue was shut down. */
  readonly finished: Promise<void>;
}

/**
 * Runs `concurrency` loops that take keys from `queue` and hand them to `handler`.
 * A throw schedules a rate-limited retry; success resets the key's backoff and honours
 * `requeueAfterMs`. The key is always released, and the queue guarantees no key runs
 * in two loops at once. Handlers that want a terminal error to stop retrying (Flux's
 * Stalled) catch it themselves and return normally.
 */
export function runWorkers(
  queue: WorkQueue,
  concurrency: number,
  handler: WorkHandler,
  options: WorkerOptions = {},
): WorkerPool {
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new RangeError(`worker concurrency must be a positive integer, got ${concurrency}`);
  }

  const processOne = async (key: string): Promise<void> => {
    try {
      const result = (await handler(key)) ?? {};
      if (result.requeue === true && !(result.requeueAfterMs !== undefined && result.requeueAfterMs > 0)) {
        queue.addRateLimited(key);
      } else {
        queue.forget(key);
        if (result.requeueAfterMs !== undefined && result.requeueAfterMs > 0) queue.addAfter(key, result.requeueAfterMs);
      }
    } catch (error: unknown) {
      queue.addRateLimited(key);
      try {
        options.onError?.(key, error);
      } catch {
        // A failing error reporter must not stop the worker loop.
      }
    } finally {
      queue.done(key);
    }
  };

  const loop = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      await processOne(key);
    }
  };

  const finished = Promise.all(Array.from({ length: concurrency }, loop)).then(() => undefined);
  return {
    finished,
    stop: async () => {
      queue.shutDown();
      await finished;
    },
  };
}
