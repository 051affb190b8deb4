import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatFloatF, goValueBytes, goYamlTimestamp, resolveJsonNumber, resolvePlainScalar } from './go-values.ts';

test('formatFloatF matches strconv.FormatFloat(f, f, -1, 64)', () => {
  assert.equal(formatFloatF(1.5), '1.5');
  assert.equal(formatFloatF(100), '100');
  assert.equal(formatFloatF(1e21), '1000000000000000000000');
  assert.equal(formatFloatF(1.5e-7), '0.00000015');
  assert.equal(formatFloatF(-2.5e22), '-25000000000000000000000');
  assert.equal(formatFloatF(Infinity), '+Inf');
  assert.equal(formatFloatF(NaN), 'NaN');
});

test('plain scalars resolve as go-yaml v3 resolves them', () => {
  const kind = (s: string): string => resolvePlainScalar(s).kind;
  assert.equal(kind(''), 'null');
  assert.equal(kind('~'), 'null');
  assert.equal(kind('True'), 'bool');
  assert.equal(kind('yes'), 'str', 'YAML 1.1 booleans are strings in v3');
  assert.equal(kind('on'), 'str');
  assert.equal(kind('12:30:00'), 'str', 'no sexagesimal numbers');
  assert.equal(kind('100m'), 'str');
  assert.equal(kind('1.2.3'), 'str');
  assert.deepEqual(resolvePlainScalar('0777'), { kind: 'int', value: 511n }, 'leading zero is octal');
  assert.deepEqual(resolvePlainScalar('1_000'), { kind: 'int', value: 1000n });
  assert.deepEqual(resolvePlainScalar('0x1F'), { kind: 'int', value: 31n });
  assert.deepEqual(resolvePlainScalar('08'), { kind: 'float', value: 8 }, 'an invalid octal falls back to a float');
  assert.deepEqual(resolvePlainScalar('1e3'), { kind: 'float', value: 1000 });
  assert.deepEqual(resolvePlainScalar('.5'), { kind: 'float', value: 0.5 });
  assert.deepEqual(resolvePlainScalar('-.inf'), { kind: 'float', value: -Infinity });
  assert.equal(resolvePlainScalar('12345678901234567890').kind, 'uint');
  assert.deepEqual(resolvePlainScalar('2001-12-14'), { kind: 'time', text: '2001-12-14T00:00:00Z' });
});

test('timestamps marshal as time.Time.MarshalText', () => {
  assert.equal(goYamlTimestamp('2001-12-14t21:59:43.10-05:00'), '2001-12-14T21:59:43.1-05:00');
  assert.equal(goYamlTimestamp('2001-12-14 21:59:43.10'), '2001-12-14T21:59:43.1Z');
  assert.equal(goYamlTimestamp('2001-2-3T4:05:06Z'), '2001-02-03T04:05:06Z');
  assert.equal(goYamlTimestamp('2001-12-14T21:59:43'), undefined, "the 'T' layout needs a zone");
  assert.equal(goYamlTimestamp('2001-02-30'), undefined);
  assert.equal(goYamlTimestamp('2001-12-14x'), undefined);
});

test('MAC bytes of typed values', () => {
  assert.equal(goValueBytes({ kind: 'bool', value: true })?.toString(), 'True');
  assert.equal(goValueBytes({ kind: 'int', value: -7n })?.toString(), '-7');
  assert.equal(goValueBytes(resolveJsonNumber('1.0'))?.toString(), '1');
  assert.equal(goValueBytes(resolveJsonNumber('42'))?.toString(), '42');
  assert.equal(goValueBytes({ kind: 'null' }), undefined);
  assert.throws(() => goValueBytes({ kind: 'uint', value: 2n ** 64n - 1n }));
});
