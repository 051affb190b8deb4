import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_RETRY_DELAY_MS,
  DEFAULT_MIN_RETRY_DELAY_MS,
  ExponentialFailureRateLimiter,
} from './rate-limiter.ts';

test('defaults are Flux --min-retry-delay 750ms and --max-retry-delay 15m', () => {
  assert.equal(DEFAULT_MIN_RETRY_DELAY_MS, 750);
  assert.equal(DEFAULT_MAX_RETRY_DELAY_MS, 900_000);
});

test('delays double per failure from 750 ms and stop at 15 minutes', () => {
  const limiter = new ExponentialFailureRateLimiter();
  const delays = Array.from({ length: 14 }, () => limiter.when('ns/a'));
  assert.deepEqual(delays, [
    750, 1_500, 3_000, 6_000, 12_000, 24_000, 48_000, 96_000, 192_000, 384_000, 768_000, 900_000, 900_000, 900_000,
  ]);
  assert.equal(limiter.numRequeues('ns/a'), 14);
});

test('forget resets one key and leaves the others alone', () => {
  const limiter = new ExponentialFailureRateLimiter();
  limiter.when('a');
  limiter.when('a');
  limiter.when('b');
  assert.equal(limiter.when('a'), 3_000);
  limiter.forget('a');
  assert.equal(limiter.numRequeues('a'), 0);
  assert.equal(limiter.when('a'), 750);
  assert.equal(limiter.when('b'), 1_500);
});

test('minimum and maximum are configurable', () => {
  const limiter = new ExponentialFailureRateLimiter({ minDelayMs: 10, maxDelayMs: 35 });
  assert.deepEqual([limiter.when('k'), limiter.when('k'), limiter.when('k'), limiter.when('k')], [10, 20, 35, 35]);
});

test('thousands of failures stay at the cap instead of overflowing', () => {
  const limiter = new ExponentialFailureRateLimiter();
  let last = 0;
  for (let i = 0; i < 5_000; i++) last = limiter.when('k');
  assert.equal(last, DEFAULT_MAX_RETRY_DELAY_MS);
});

test('an inverted range is rejected', () => {
  assert.throws(() => new ExponentialFailureRateLimiter({ minDelayMs: 10, maxDelayMs: 5 }), RangeError);
  assert.throws(() => new ExponentialFailureRateLimiter({ minDelayMs: -1 }), RangeError);
});
