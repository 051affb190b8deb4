import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeSwitches, resolveConfig } from './config.ts';

test("Flux's `--switch=true` spelling is accepted", () => {
  assert.deepEqual(normalizeSwitches(['operator', '--no-cross-namespace-refs=true', '--no-remote-bases=false', '--concurrent=4']), [
    'operator',
    '--no-cross-namespace-refs',
    '--concurrent=4',
  ]);
  assert.throws(() => normalizeSwitches(['--enable-leader-election=maybe']), /want true or false/);
});

test('lockdown switches arrive from commander as negated options', () => {
  const cfg = resolveConfig({ crossNamespaceRefs: false, remoteBases: false, defaultServiceAccount: 'default' }, {});
  assert.equal(cfg.noCrossNamespaceRefs, true);
  assert.equal(cfg.noRemoteBases, true);
  assert.equal(cfg.defaultServiceAccount, 'default');
  assert.equal(resolveConfig({}, {}).noCrossNamespaceRefs, false);
});

test('bad durations and levels are refused with the flag name', () => {
  assert.throws(() => resolveConfig({ requeueDependency: '30' }, {}), /--requeue-dependency/);
  assert.throws(() => resolveConfig({ logLevel: 'loud' }, {}), /--log-level/);
});
