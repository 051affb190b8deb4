import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.ts';

test('parses Go durations', () => {
  assert.equal(parseDuration('1m30s'), 90_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('10m'), 600_000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('10'), undefined);
  assert.equal(parseDuration('1x'), undefined);
  assert.equal(parseDuration('5m junk'), undefined);
  assert.equal(parseDuration(undefined), undefined);
});

test('formats like Go', () => {
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(3_600_000), '1h0m0s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(1500), '1.5s');
  assert.equal(formatDuration(61_234.5678), '1m1.2345678s');
  assert.equal(formatDuration(12.25), '12.25ms');
  assert.equal(formatDuration(0.004), '4µs');
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(7_200_000), '2h0m0s');
});
