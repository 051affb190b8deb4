import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiKindOf } from '../../api/index.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { exportObject, goRoundTrip } from './export.ts';
import { exportDocument } from './go-yaml.ts';
import { NO_GOLDENS, readGolden } from './testing.ts';

/** A GitRepository as the API server returns it: server metadata, defaults, status. */
const served: KubeObject = {
  apiVersion: 'source.toolkit.fluxcd.io/v1',
  kind: 'GitRepository',
  metadata: {
    name: 'flux-system', namespace: 'flux-system', uid: 'u', resourceVersion: '12', generation: 1,
    creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{ manager: 'kubectl' }], finalizers: ['finalizers.fluxcd.io'],
  },
  spec: { ref: { branch: 'main' }, secretRef: { name: 'flux-system' }, interval: '5m', url: 'ssh://git@github.com/example/repo', timeout: '60s' },
  status: { observedGeneration: 1, conditions: [] },
};

test('export drops status and server metadata and prints durations as Go does', () => {
  const text = exportDocument(exportObject(apiKindOf('GitRepository'), served));
  assert.equal(
    text,
    [
      '---',
      'apiVersion: source.toolkit.fluxcd.io/v1',
      'kind: GitRepository',
      'metadata:',
      '  name: flux-system',
      '  namespace: flux-system',
      'spec:',
      '  interval: 5m0s',
      '  ref:',
      '    branch: main',
      '  secretRef:',
      '    name: flux-system',
      '  timeout: 1m0s',
      '  url: ssh://git@github.com/example/repo',
      '',
    ].join('\n'),
  );
});

test('export matches Flux golden for a GitRepository', (t) => {
  const golden = readGolden('export/git-repo.yaml', { fluxns: 'flux-system' });
  if (golden === undefined) return t.skip(NO_GOLDENS);
  assert.equal(exportDocument(exportObject(apiKindOf('GitRepository'), served)), golden);
});

test('durations are found through the schema, in nested objects and lists', () => {
  const ks = apiKindOf('Kustomization');
  const spec = goRoundTrip({ interval: '10m', retryInterval: '90s', timeout: '1h', path: '5m', postBuild: { substitute: { d: '5m' } } }, ks.spec) as Record<string, unknown>;
  assert.equal(spec['interval'], '10m0s');
  assert.equal(spec['retryInterval'], '1m30s');
  assert.equal(spec['timeout'], '1h0m0s');
  assert.equal(spec['path'], '5m', 'a path is not a duration');
  assert.deepEqual(spec['postBuild'], { substitute: { d: '5m' } }, 'substitution values are not durations');
  const flags = goRoundTrip({ prune: false, force: false, wait: true, suspend: false }, ks.spec);
  assert.deepEqual(flags, { prune: false, wait: true }, 'optional false booleans go, required ones stay');
});
