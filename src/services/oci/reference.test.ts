import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidOciReference, apiHost, credentialsFor, parseChallenge, parseOciUrl, pickSemverTag, revisionOf, wantedOf } from './reference.ts';

test('oci:// URLs: registry and repository; tags, digests and odd names refused', () => {
  assert.deepEqual(parseOciUrl('oci://ghcr.io/org/manifests/app'), { registry: 'ghcr.io', repository: 'org/manifests/app' });
  assert.deepEqual(parseOciUrl('oci://127.0.0.1:5000/app'), { registry: '127.0.0.1:5000', repository: 'app' });
  assert.throws(() => parseOciUrl('oci://ghcr.io/org/app:v1'), /must not carry a tag or digest/);
  assert.throws(() => parseOciUrl('https://ghcr.io/org/app'), InvalidOciReference);
  assert.throws(() => parseOciUrl('oci://ghcr.io/Org/App'), /not a valid repository name/);
  assert.throws(() => parseOciUrl('oci://ghcr.io/../etc'), InvalidOciReference);
});

test('dockerconfigjson: auth or username/password, matched by host', () => {
  const auth = Buffer.from('robot:s3cret:with:colons').toString('base64');
  const cfg = JSON.stringify({ auths: { 'https://registry.example.com/v1/': { auth }, 'ghcr.io': { username: 'u', password: 'p' } } });
  assert.deepEqual(credentialsFor(cfg, 'registry.example.com'), { username: 'robot', password: 's3cret:with:colons' });
  assert.deepEqual(credentialsFor(cfg, 'ghcr.io'), { username: 'u', password: 'p' });
  assert.equal(credentialsFor(cfg, 'quay.io'), undefined);
  const hub = JSON.stringify({ auths: { 'https://index.docker.io/v1/': { username: 'h', password: 'q' } } });
  assert.deepEqual(credentialsFor(hub, 'docker.io'), { username: 'h', password: 'q' }, 'Docker Hub under its login name');
  assert.equal(apiHost('docker.io'), 'registry-1.docker.io');
  assert.equal(apiHost('ghcr.io'), 'ghcr.io');
  assert.throws(() => credentialsFor('{nope', 'ghcr.io'), /not valid JSON/);
});

test('WWW-Authenticate challenges', () => {
  assert.deepEqual(parseChallenge('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), {
    scheme: 'bearer',
    params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' },
  });
  assert.deepEqual(parseChallenge('Basic realm="Registry"'), { scheme: 'basic', params: { realm: 'Registry' } });
  assert.equal(parseChallenge('Negotiate'), undefined);
  assert.equal(parseChallenge(undefined), undefined);
});

test("Flux's precedence: digest, semver, tag, latest; the revision names the tag", () => {
  const d = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(wantedOf({ digest: d, semver: '1.x', tag: 'v1' }), { kind: 'digest', digest: d });
  assert.deepEqual(wantedOf({ semver: '>=1.0.0', semverFilter: '-rc', tag: 'v1' }), { kind: 'semver', range: '>=1.0.0', filter: '-rc' });
  assert.deepEqual(wantedOf({ tag: 'stable' }), { kind: 'tag', tag: 'stable' });
  assert.deepEqual(wantedOf(undefined), { kind: 'tag', tag: 'latest' });
  assert.throws(() => wantedOf({ digest: 'sha256:short' }), /not a sha256 digest/);
  assert.equal(revisionOf({ kind: 'tag', tag: 'v1' }, 'v1', d), `v1@${d}`);
  assert.equal(revisionOf({ kind: 'digest', digest: d }, undefined, d), d);
});

test('semver tags: the highest in range, after the filter', () => {
  const tags = ['1.0.0', '1.1.0', '1.2.0-rc.1', 'v1.1.5', 'latest', '2.0.0'];
  assert.equal(pickSemverTag(tags, '1.x'), 'v1.1.5');
  assert.equal(pickSemverTag(tags, '>=1.0.0-0 <2.0.0', '-rc'), '1.2.0-rc.1');
  assert.equal(pickSemverTag(tags, '>=3.0.0'), undefined);
  assert.throws(() => pickSemverTag(tags, '1.x', '('), /semverFilter/);
});
