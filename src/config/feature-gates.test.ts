import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FEATURE_GATES, normalizeSwitches, parseFeatureGates, resolveConfig } from './config.ts';

test('feature gates: Flux defaults, overrides, unknown gates refused', () => {
  assert.deepEqual(parseFeatureGates(undefined), { ...FEATURE_GATES });
  const g = parseFeatureGates('DisableFailFastBehavior=true, StrictPostBuildSubstitutions=false,AdditiveCELDependencyCheck');
  assert.equal(g.DisableFailFastBehavior, true);
  assert.equal(g.StrictPostBuildSubstitutions, false);
  assert.equal(g.AdditiveCELDependencyCheck, true, 'a bare name turns the gate on');
  assert.throws(() => parseFeatureGates('NoSuchGate=true'), /unknown feature gate 'NoSuchGate'/);
  assert.throws(() => parseFeatureGates('OOMWatch=yes'), /OOMWatch wants true or false/);
});

test("Flux's other flags are accepted and listed as having no effect", () => {
  const cfg = resolveConfig({ eventsAddr: 'http://notification-controller.flux-system.svc.cluster.local./', helmCacheMaxSize: '10', featureGates: 'OOMWatch=true' }, { PATH: '/usr/bin' });
  assert.deepEqual(cfg.ignoredFlags, ['--events-addr', '--helm-cache-max-size']);
  assert.equal(cfg.featureGates.OOMWatch, true);
  assert.deepEqual(normalizeSwitches(['--insecure-kubeconfig-exec=true', '--insecure-kubeconfig-tls=false']), ['--insecure-kubeconfig-exec']);
});
