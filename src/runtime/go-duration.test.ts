import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatGoDuration, normalizeGoDuration, parseGoDuration } from './go-duration.ts';

test('Go prints durations with every unit down to seconds', () => {
  const cases: Array<[string, string]> = [
    ['1m', '1m0s'],
    ['5m', '5m0s'],
    ['60s', '1m0s'],
    ['90s', '1m30s'],
    ['1h', '1h0m0s'],
    ['1.5h', '1h30m0s'],
    ['2h0m0.5s', '2h0m0.5s'],
    ['1.5s', '1.5s'],
    ['500ms', '500ms'],
    ['1500ms', '1.5s'],
    ['1.5ms', '1.5ms'],
    ['10us', '10µs'],
    ['3ns', '3ns'],
    ['0', '0s'],
    ['-2m', '-2m0s'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeGoDuration(input), want, input);
});

test('invalid durations are left alone', () => {
  for (const s of ['', 'm', '5', '1x', '1m ', 'abc']) assert.equal(parseGoDuration(s), undefined, s);
  assert.equal(normalizeGoDuration('soon'), 'soon');
});

test('format then parse is the identity', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), (ns) => {
      assert.equal(parseGoDuration(formatGoDuration(ns)), ns);
    }),
  );
});
