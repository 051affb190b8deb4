import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_INTERVAL_JITTER_PERCENTAGE, withJitter } from './jitter.ts';

test('the default is Flux --interval-jitter-percentage 5', () => {
  assert.equal(DEFAULT_INTERVAL_JITTER_PERCENTAGE, 5);
});

test('the extremes of the random source map to the ends of the band', () => {
  assert.equal(withJitter(60_000, 5, () => 0), 57_000);
  assert.equal(withJitter(60_000, 5, () => 0.5), 60_000);
  const top = withJitter(60_000, 5, () => 1 - Number.EPSILON);
  assert.ok(top <= 63_000 && top > 62_999, `got ${top}`);
  assert.equal(withJitter(60_000, 10, () => 0.25), 57_000);
});

test('zero percent and non-positive intervals are returned unchanged', () => {
  assert.equal(withJitter(60_000, 0, () => 0), 60_000);
  assert.equal(withJitter(0, 5, () => 0), 0);
});

test('percentages outside [0, 100) are rejected like the Flux flag', () => {
  assert.throws(() => withJitter(1_000, 100), RangeError);
  assert.throws(() => withJitter(1_000, -1), RangeError);
  assert.throws(() => withJitter(1_000, Number.NaN), RangeError);
});

test('every jittered interval stays within ±percentage of the interval', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 * 24 * 3600 * 1000 }),
      fc.integer({ min: 0, max: 99 }),
      fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      (ms, percentage, r) => {
        const jittered = withJitter(ms, percentage, () => r);
        const spread = (ms * percentage) / 100;
        return jittered >= ms - spread - 1e-6 && jittered <= ms + spread + 1e-6;
      },
    ),
  );
});

test('with the real random source the values spread over the band', () => {
  const values = Array.from({ length: 2_000 }, () => withJitter(10_000));
  assert.ok(values.every((v) => v >= 9_500 && v <= 10_500));
  assert.ok(Math.min(...values) < 9_600 && Math.max(...values) > 10_400, 'values cover the band');
});
