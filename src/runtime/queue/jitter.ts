/**
 * Interval jitter as Flux applies it to `RequeueAfter` on success
 * (`--interval-jitter-percentage`, fluxcd/pkg runtime/jitter): the interval is scaled
 * by a uniformly random factor in [1 - p, 1 + p], so that objects created together do
 * not poll their sources in lockstep.
 */

/** Flux's `--interval-jitter-percentage` default. */
export const DEFAULT_INTERVAL_JITTER_PERCENTAGE = 5;

/**
 * @param ms the interval
 * @param percentage 0 ≤ percentage < 100, as the flag takes it (5 means ±5 %); 0 disables jitter
 * @param random a source of numbers in [0, 1), injectable for tests
 */
export function withJitter(
  ms: number,
  percentage: number = DEFAULT_INTERVAL_JITTER_PERCENTAGE,
  random: () => number = Math.random,
): number {
  if (!(percentage >= 0 && percentage < 100)) {
    throw new RangeError(`the interval jitter percentage must be at least 0 and less than 100, got ${percentage}`);
  }
  if (percentage === 0 || !(ms > 0)) return ms;
  const fraction = percentage / 100;
  return ms * (1 + fraction * (2 * random() - 1));
}
