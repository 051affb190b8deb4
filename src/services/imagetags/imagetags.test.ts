import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTag, PolicyError } from './select.ts';
import { ImageTagStore, canonicalImageName } from './store.ts';

const tags = ['1.0.0', '1.2.0', 'v1.10.0', '2.0.0-rc.1', 'latest', 'main-3-1700000000', 'main-7-1600000000', '10', '9'];

test('semver picks the highest tag in range; prereleases only when asked', () => {
  assert.equal(chooseTag(tags, { semver: { range: '^1.0.0' } }, undefined), 'v1.10.0');
  assert.equal(chooseTag(tags, { semver: { range: '>=2.0.0-0' } }, undefined), '2.0.0-rc.1');
  assert.equal(chooseTag(tags, { semver: { range: '>=3' } }, undefined), undefined);
  assert.throws(() => chooseTag(tags, { semver: { range: 'not a range' } }, undefined), PolicyError);
});

test('filterTags with extract: the value compared is the extracted part', () => {
  const f = { pattern: '^main-(?<sha>\\d+)-(?<ts>\\d+)$', extract: '$ts' };
  assert.equal(chooseTag(tags, { numerical: { order: 'asc' } }, f), 'main-3-1700000000');
  assert.equal(chooseTag(tags, { numerical: { order: 'desc' } }, f), 'main-7-1600000000');
  assert.equal(chooseTag(tags, { alphabetical: {} }, { pattern: '^main-(\\d+)-\\d+$', extract: '${1}' }), 'main-7-1600000000');
  assert.throws(() => chooseTag(tags, { numerical: {} }, undefined), /invalid numeric value/);
  assert.equal(chooseTag(tags, { numerical: {} }, { pattern: '^\\d+$' }), '10');
  assert.equal(chooseTag(tags, { alphabetical: { order: 'desc' } }, { pattern: '^\\d+$' }), '10');
  assert.equal(chooseTag(tags, { alphabetical: {} }, { pattern: '^nothing$' }), undefined);
});

test('canonical names and the shared tag store', () => {
  assert.equal(canonicalImageName('alpine'), 'index.docker.io/library/alpine');
  assert.equal(canonicalImageName('org/app'), 'index.docker.io/org/app');
  assert.equal(canonicalImageName('ghcr.io/org/app'), 'ghcr.io/org/app');
  assert.equal(canonicalImageName('127.0.0.1:5000/app'), '127.0.0.1:5000/app');
  const s = new ImageTagStore();
  const a = s.set('ns', 'r', 'ghcr.io/org/app', ['b', 'a']);
  assert.equal(s.set('ns', 'r', 'ghcr.io/org/app', ['a', 'b']), a, 'the checksum ignores order');
  assert.notEqual(s.set('ns', 'r', 'ghcr.io/org/app', ['a', 'b', 'c']), a);
  assert.deepEqual(s.get('ns', 'r')?.tags, ['a', 'b', 'c']);
});
