import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiKindOf,
  apiKinds,
  findApiKind,
  gitRepositoryApi,
  isFluxKind,
  kustomizationApi,
  servedVersions,
  specRuleViolations,
  validateObject,
} from './index.ts';
import type { HelmRelease, Receiver } from './index.ts';

test('the registry lists each kind once with consistent names', () => {
  const kinds = apiKinds.map((k) => k.kind);
  assert.equal(new Set(kinds).size, kinds.length);
  assert.deepEqual(kinds, [
    'GitRepository',
    'OCIRepository',
    'HelmRepository',
    'HelmChart',
    'Kustomization',
    'HelmRelease',
    'ImageRepository',
    'ImagePolicy',
    'ImageUpdateAutomation',
    'Receiver',
    'Alert',
    'Provider',
  ]);
  for (const api of apiKinds) {
    assert.equal(api.apiVersion, `${api.group}/${api.version}`);
    assert.equal(api.spec, api.schema.properties['spec']);
    assert.ok(api.printerColumns.length > 0);
  }
  assert.equal(apiKindOf('HelmRelease').plural, 'helmreleases');
  assert.equal(apiKindOf('Alert').status, undefined);
  assert.ok(isFluxKind('Kustomization'));
  assert.ok(!isFluxKind('Bucket'));
});

test('findApiKind accepts every served version and nothing else', () => {
  assert.equal(findApiKind('kustomize.toolkit.fluxcd.io/v1', 'Kustomization'), kustomizationApi);
  assert.equal(findApiKind('kustomize.toolkit.fluxcd.io/v1beta2', 'Kustomization'), kustomizationApi);
  assert.equal(findApiKind('kustomize.toolkit.fluxcd.io', 'Kustomization'), kustomizationApi);
  assert.equal(findApiKind('kustomize.toolkit.fluxcd.io/v2', 'Kustomization'), undefined);
  assert.equal(findApiKind('source.toolkit.fluxcd.io/v1', 'Kustomization'), undefined);
  assert.equal(findApiKind('source.toolkit.fluxcd.io/v1', 'Bucket'), undefined);
  assert.deepEqual(servedVersions(gitRepositoryApi), ['v1', 'v1beta1', 'v1beta2']);
});

test('validateObject reports schema violations with their paths', () => {
  const valid = {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: 'app', namespace: 'default' },
    spec: { interval: '1m30s', url: 'https://example.com/app.git', ref: { branch: 'main' } },
    status: {
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Succeeded', message: '', lastTransitionTime: '2024-01-01T00:00:00Z' },
      ],
    },
  };
  assert.deepEqual(validateObject(gitRepositoryApi, valid), []);

  const badInterval = validateObject(gitRepositoryApi, { ...valid, spec: { ...valid.spec, interval: '5 minutes' } });
  assert.ok(badInterval.some((e) => e.startsWith('/spec/interval:')), badInterval.join('\n'));

  const badUrl = validateObject(gitRepositoryApi, { ...valid, spec: { ...valid.spec, url: 'git@example.com:app.git' } });
  assert.ok(badUrl.some((e) => e.startsWith('/spec/url:')), badUrl.join('\n'));

  const badTime = validateObject(gitRepositoryApi, {
    ...valid,
    status: { conditions: [{ ...valid.status.conditions[0], lastTransitionTime: 'yesterday' }] },
  });
  assert.ok(badTime.some((e) => e.startsWith('/status/conditions/0/lastTransitionTime:')), badTime.join('\n'));

  const noPrune = validateObject(kustomizationApi, {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: 'app' },
    spec: { interval: '10m', sourceRef: { kind: 'GitRepository', name: 'app' } },
  });
  assert.ok(noPrune.some((e) => e.includes('prune')), noPrune.join('\n'));
});

test('specRuleViolations applies the cross-field rules Flux expresses in CEL', () => {
  const release = (spec: Partial<HelmRelease['spec']>): HelmRelease => ({
    apiVersion: 'helm.toolkit.fluxcd.io/v2',
    kind: 'HelmRelease',
    metadata: { name: 'app' },
    spec: { interval: '5m', ...spec },
  });
  const chart = { spec: { chart: 'podinfo', sourceRef: { kind: 'HelmRepository' as const, name: 'podinfo' } } };
  const chartRef = { kind: 'OCIRepository' as const, name: 'podinfo' };
  assert.deepEqual(specRuleViolations(release({ chart })), []);
  assert.deepEqual(specRuleViolations(release({})), ['spec: set exactly one of chart and chartRef']);
  assert.deepEqual(specRuleViolations(release({ chart, chartRef })), ['spec: set exactly one of chart and chartRef']);
  assert.deepEqual(
    specRuleViolations(release({ chartRef, upgrade: { strategy: { name: 'RemediateOnFailure', retryInterval: '1m' } } })),
    ["spec.upgrade.strategy.retryInterval: only allowed when the strategy is 'RetryOnFailure'"],
  );
  assert.deepEqual(
    specRuleViolations(release({ chartRef, kubeConfig: { secretRef: { name: 'a' }, configMapRef: { name: 'b' } } })),
    ['spec.kubeConfig: set exactly one of secretRef and configMapRef'],
  );

  const receiver = (spec: Partial<Receiver['spec']>): Receiver => ({
    apiVersion: 'notification.toolkit.fluxcd.io/v1',
    kind: 'Receiver',
    metadata: { name: 'hook' },
    spec: { type: 'github', resources: [{ kind: 'GitRepository', name: 'app' }], ...spec },
  });
  assert.deepEqual(specRuleViolations(receiver({ secretRef: { name: 'token' } })), []);
  assert.deepEqual(specRuleViolations(receiver({})), ['spec.secretRef: required unless spec.type is generic-oidc']);
  assert.deepEqual(specRuleViolations(receiver({ type: 'generic-oidc' })), [
    'spec.oidcProviders: generic-oidc receivers need at least one',
  ]);

  assert.deepEqual(
    specRuleViolations({
      apiVersion: 'image.toolkit.fluxcd.io/v1',
      kind: 'ImagePolicy',
      metadata: {},
      spec: { imageRepositoryRef: { name: 'app' }, policy: { semver: { range: '1.x' } }, digestReflectionPolicy: 'Always' },
    }),
    ["spec.interval: required when spec.digestReflectionPolicy is 'Always'"],
  );
  assert.deepEqual(
    specRuleViolations({
      apiVersion: 'source.toolkit.fluxcd.io/v1',
      kind: 'GitRepository',
      metadata: {},
      spec: { interval: '1m', url: 'https://x/y', serviceAccountName: 'sa' },
    }),
    ["spec.serviceAccountName: only allowed when spec.provider is 'azure' or 'aws'"],
  );
});
