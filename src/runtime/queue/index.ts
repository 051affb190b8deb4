export { ManualClock, MAX_TIMER_DELAY_MS, systemClock, type Clock, type TimerHandle } from './clock.ts';
export { DEFAULT_INTERVAL_JITTER_PERCENTAGE, withJitter } from './jitter.ts';
export {
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_MIN_RETRY_DELAY_MS,
  ExponentialFailureRateLimiter,
  type ExponentialBackoffOptions,
  type RateLimiter,
} from './rate-limiter.ts';
export { WorkQueue, type WorkQueueMetrics, type WorkQueueOptions } from './work-queue.ts';
export { runWorkers, type WorkerOptions, type WorkerPool, type WorkHandler, type WorkResult } from './workers.ts';
