import { test } from 'node:test';
import assert from 'node:assert/strict';
import semver from 'semver';
import fc from 'fast-check';
import {
  InvalidFluxRangeError,
  latestMatching,
  parseFluxRange,
  parseFluxVersion,
  sortMatching,
  validateFluxRange,
} from './flux-range.ts';

function check(range: string, cases: Record<string, boolean>): void {
  const parsed = parseFluxRange(range);
  for (const [version, expected] of Object.entries(cases)) {
    assert.equal(parsed.test(version), expected, `'${version}' against '${range}'`);
  }
}

test('a comma is an AND: the lower bound of ">= 1.2, < 2.0" is kept', () => {
  // node-semver has no comma operator: the expression is not the intended AND there.
  const raw = semver.validRange('>= 1.2, < 2.0');
  assert.ok(raw === null || !raw.includes('>=1.2'), `semver.validRange gave ${String(raw)}`);
  assert.equal(semver.satisfies('1.5.0', '>= 1.2, < 2.0'), false);

  check('>= 1.2, < 2.0', { '1.1.9': false, '1.2.0': true, '1.9.9': true, '2.0.0': false, 'v1.5.0': true });
  check('>=1.2,<2.0', { '1.1.0': false, '1.5.0': true, '2.0.0': false });
  check('>= 1.2 < 2.0', { '1.1.0': false, '1.5.0': true, '2.0.0': false });
});

test('|| separates alternatives, each an AND group', () => {
  check('>= 1.0, < 1.5 || >= 3.0', { '0.9.0': false, '1.4.9': true, '1.5.0': false, '2.9.0': false, '3.0.0': true, '9.1.0': true });
  check('1.2.3 || 2.x', { '1.2.3': true, '1.2.4': false, '2.7.1': true, '3.0.0': false });
});

test('!= excludes one version or a whole wildcard range', () => {
  check('>= 1.0, != 1.2.3', { '1.2.2': true, '1.2.3': false, '1.2.4': true });
  check('!=1.x', { '1.0.0': false, '1.9.9': false, '2.0.0': true, '0.9.0': true });
  check('!=1.2', { '1.2.0': false, '1.2.9': false, '1.3.0': true });
  check('!=1.2.3-rc.1', { '1.2.3-rc.1': false, '1.2.3-rc.2': true, '1.2.3': true });
});

test('comparison operators and their aliases', () => {
  check('> 1.2.3', { '1.2.3': false, '1.2.4': true });
  check('< 1.2.3', { '1.2.2': true, '1.2.3': false });
  check('=> 1.2.3', { '1.2.2': false, '1.2.3': true });
  check('=< 1.2.3', { '1.2.3': true, '1.2.4': false });
  check('= 1.2.3', { '1.2.3': true, '1.2.4': false });
  check('1.2.3', { '1.2.3': true, 'v1.2.3': true, '1.2.3+build.7': true, '1.2.4': false });
});

test('partial versions in constraints: > and <= cover the whole omitted part', () => {
  check('>1.2', { '1.2.9': false, '1.3.0': true });
  check('>1', { '1.9.9': false, '2.0.0': true });
  check('<=1.2', { '1.2.99': true, '1.3.0': false });
  check('<=1', { '1.99.0': true, '2.0.0': false });
  check('<1.2', { '1.1.9': true, '1.2.0': false });
  check('>=1.2', { '1.1.9': false, '1.2.0': true });
});

test('wildcards x, X and *', () => {
  check('1.2.x', { '1.2.0': true, '1.2.77': true, '1.3.0': false });
  check('1.X', { '1.0.0': true, '1.88.1': true, '2.0.0': false });
  check('1.*', { '0.9.0': false, '1.4.0': true });
  check('*', { '0.0.1': true, '42.0.0': true, '1.0.0-rc.1': false });
  check('1', { '1.5.0': true, '2.0.0': false });
});

test('tilde keeps the minor (or the major when only it is given)', () => {
  check('~1.2.3', { '1.2.2': false, '1.2.3': true, '1.2.9': true, '1.3.0': false });
  check('~>1.2', { '1.2.0': true, '1.2.9': true, '1.3.0': false });
  check('~1', { '1.0.0': true, '1.9.0': true, '2.0.0': false });
  check('~0.2.3', { '0.2.3': true, '0.2.9': true, '0.3.0': false });
  check('~*', { '7.1.2': true });
});

test('caret keeps the leftmost non-zero part', () => {
  check('^1.2.3', { '1.2.2': false, '1.2.3': true, '1.99.0': true, '2.0.0': false });
  check('^0.2.3', { '0.2.3': true, '0.2.9': true, '0.3.0': false });
  check('^0.0.3', { '0.0.3': true, '0.0.4': false });
  check('^0.0', { '0.0.7': true, '0.1.0': false });
  check('^0', { '0.9.9': true, '1.0.0': false });
  check('^1.x', { '1.1.1': true, '2.0.0': false });
});

test('hyphen ranges are inclusive', () => {
  check('1.2 - 1.4.5', { '1.1.9': false, '1.2.0': true, '1.4.5': true, '1.4.6': false });
  check('1.0.0 - 2.0.0, != 1.5.0', { '1.5.0': false, '1.6.0': true, '2.0.0': true });
  // Without spaces around the hyphen it is a prerelease (`1.1.0-3`, wildcard patch), not a range.
  check('1.1-3', { '1.1.5': true, '1.2.0': false, '3.0.0': false });
});

test('v prefixes are accepted in constraints and versions', () => {
  check('>= v1.2.0, < v2', { 'v1.2.0': true, '1.3.0': true, 'v2.0.0': false });
});

test('prereleases match only when the AND group names a prerelease', () => {
  check('>= 1.0.0', { '1.1.0-rc.1': false, '1.1.0': true });
  check('>= 1.0.0-0', { '1.1.0-rc.1': true, '2.0.0-alpha': true, '0.9.0': false });
  // Unlike node-semver, the prerelease need not share the constraint's major.minor.patch.
  check('>= 1.2.3-beta.2, < 2.0.0', { '1.2.3-beta.1': false, '1.2.3-beta.3': true, '1.5.0-alpha': true });
  check('~1.2.3-beta.2', { '1.2.4-beta.2': true, '1.3.0-beta.1': false });
  // The permission is per alternative.
  check('>= 1.0.0-0 || >= 3.0.0', { '3.1.0-rc.1': true });
  check('< 1.0.0 || >= 3.0.0', { '3.1.0-rc.1': false });
  // Prerelease order follows SemVer: numeric identifiers numerically, shorter first.
  check('> 1.0.0-rc.2', { '1.0.0-rc.10': true, '1.0.0-rc.1': false, '1.0.0-rc.2.1': true, '1.0.0': true });
});

test('invalid ranges are rejected with the offending part', () => {
  for (const bad of ['', 'foo', '>= bar', 'BAR >= 1.2.3', '1.2.3.4', '12.3.34~ 1.2.3', '>>1.0', '1.0 ||', 'v1.2.3-beta.01', '1.2.3 &&']) {
    assert.throws(() => parseFluxRange(bad), InvalidFluxRangeError, `'${bad}' should be invalid`);
  }
  assert.match(validateFluxRange('>= 1.0, <= foo') ?? '', /invalid semver range '>= 1.0, <= foo'/);
  assert.equal(validateFluxRange('>= 1.0, < 2'), undefined);
});

test('parseFluxVersion follows Flux: three parts, v prefix, leading zeros tolerated', () => {
  assert.equal(parseFluxVersion('v1.2.3')?.version, '1.2.3');
  assert.equal(parseFluxVersion('2025.02.03-rc.1')?.version, '2025.2.3-rc.1');
  assert.equal(parseFluxVersion('1.2.3+build.5')?.build.join('.'), 'build.5');
  assert.equal(parseFluxVersion('1.2'), undefined);
  assert.equal(parseFluxVersion('1.2', { allowPartial: true })?.version, '1.2.0');
  for (const notVersion of ['latest', '1.2.3.4', 'v', 'release-1.2.3', '1.2.3-', '1.2.3-rc.01', ' 1.2.3', '99999999999999999999.0.0']) {
    assert.equal(parseFluxVersion(notVersion), undefined, notVersion);
  }
});

test('latestMatching picks the highest match and returns the tag as written', () => {
  const tags = ['v1.0.0', 'v1.4.2', 'v1.10.0', 'v2.0.0', 'v2.1.0-rc.1', 'latest', 'release-3', '1.5'];
  assert.equal(latestMatching(tags, '>= 1.0, < 2.0'), 'v1.10.0');
  assert.equal(latestMatching(tags, '*'), 'v2.0.0');
  assert.equal(latestMatching(tags, '>= 2.1.0-0'), 'v2.1.0-rc.1');
  assert.equal(latestMatching(tags, '~1.4'), 'v1.4.2');
  assert.equal(latestMatching(tags, '>= 3'), undefined);
  assert.equal(latestMatching([], '*'), undefined);
  // Equal versions: the first listed wins.
  assert.equal(latestMatching(['1.0.0+b', 'v1.0.0', '1.0.0+a'], '1.0.0'), '1.0.0+b');
  assert.deepEqual(sortMatching(['1.0.0', '3.0.0', '2.0.0', 'x'], '>= 1'), ['3.0.0', '2.0.0', '1.0.0']);
  assert.throws(() => latestMatching(tags, 'not a range'), InvalidFluxRangeError);
});

test('property: a plain version range agrees with node-semver where their languages coincide', () => {
  const part = fc.integer({ min: 0, max: 20 });
  const version = fc.tuple(part, part, part).map(([a, b, c]) => `${a}.${b}.${c}`);
  fc.assert(
    fc.property(version, version, version, (low, high, candidate) => {
      const ours = parseFluxRange(`>= ${low}, < ${high}`).test(candidate);
      return ours === semver.satisfies(candidate, `>=${low} <${high}`);
    }),
    { numRuns: 300 },
  );
});

test('property: latestMatching returns a match that no other match exceeds', () => {
  const part = fc.integer({ min: 0, max: 6 });
  const tag = fc.tuple(fc.boolean(), part, part, part).map(([v, a, b, c]) => `${v ? 'v' : ''}${a}.${b}.${c}`);
  fc.assert(
    fc.property(fc.array(tag, { maxLength: 12 }), part, (tags, floor) => {
      const range = `>= ${floor}.0.0`;
      const best = latestMatching(tags, range);
      const matches = tags.filter((t) => parseFluxRange(range).test(t));
      if (best === undefined) return matches.length === 0;
      const bestVersion = parseFluxVersion(best);
      return bestVersion !== undefined && matches.every((m) => semver.lte(parseFluxVersion(m) ?? '0.0.0', bestVersion));
    }),
    { numRuns: 200 },
  );
});
