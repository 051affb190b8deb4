import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StallingError } from '../../runtime/errors.ts';
import {
  RefNotFound,
  commitOfRevision,
  effectiveRef,
  formatRevision,
  lsRemotePatterns,
  normalizeRevision,
  pickResolvedRef,
  validateRef,
} from './refs.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);
const T = 'd'.repeat(40);

test("Flux's precedence: commit > name > semver > tag > branch, default branch master", () => {
  assert.deepEqual(effectiveRef(undefined), { kind: 'branch', branch: 'master' });
  assert.deepEqual(effectiveRef({}), { kind: 'branch', branch: 'master' });
  assert.deepEqual(effectiveRef({ branch: 'main' }), { kind: 'branch', branch: 'main' });
  assert.deepEqual(effectiveRef({ branch: 'main', tag: 'v1' }), { kind: 'tag', tag: 'v1' });
  assert.deepEqual(effectiveRef({ tag: 'v1', semver: '>=1' }), { kind: 'semver', range: '>=1' });
  assert.deepEqual(effectiveRef({ semver: '>=1', name: 'refs/pull/1/head' }), { kind: 'name', name: 'refs/pull/1/head' });
  assert.deepEqual(effectiveRef({ name: 'refs/x', commit: A, branch: 'main' }), { kind: 'commit', commit: A, branch: 'main' });
});

test('ref names that git could misread are refused before reaching it', () => {
  const bad: Parameters<typeof validateRef>[0][] = [
    { kind: 'branch', branch: '--upload-pack=x' },
    { kind: 'branch', branch: 'a..b' },
    { kind: 'branch', branch: 'a b' },
    { kind: 'tag', tag: 'v1*' },
    { kind: 'tag', tag: 'v1^{}' },
    { kind: 'name', name: 'heads/main' },
    { kind: 'commit', commit: 'abc123' },
    { kind: 'semver', range: '>= banana' },
  ];
  for (const ref of bad) {
    assert.throws(() => validateRef(ref), (e: unknown) => e instanceof StallingError && e.reason === 'GitOperationFailed', JSON.stringify(ref));
  }
  validateRef({ kind: 'branch', branch: 'feature/new-thing' });
  validateRef({ kind: 'name', name: 'refs/pull/1/head' });
  validateRef({ kind: 'commit', commit: A, branch: 'main' });
});

test('ls-remote patterns ask for exactly the refs needed', () => {
  assert.deepEqual(lsRemotePatterns({ kind: 'branch', branch: 'main' }), ['refs/heads/main']);
  assert.deepEqual(lsRemotePatterns({ kind: 'tag', tag: 'v1' }), ['refs/tags/v1', 'refs/tags/v1^{}']);
  assert.deepEqual(lsRemotePatterns({ kind: 'semver', range: '*' }), ['refs/tags/*']);
  assert.deepEqual(lsRemotePatterns({ kind: 'commit', commit: A }), ['HEAD']);
  assert.deepEqual(lsRemotePatterns({ kind: 'commit', commit: A, branch: 'dev' }), ['refs/heads/dev']);
});

test('revisions in Flux format', () => {
  const refs = new Map([
    ['refs/heads/main', A],
    ['refs/heads/feature/x', B],
    ['refs/tags/v1.0.0', T],
    ['refs/tags/v1.0.0^{}', C],
    ['refs/tags/v1.1.0', B],
    ['refs/tags/v2.0.0-rc.1', A],
    ['refs/pull/7/head', C],
  ]);
  assert.equal(pickResolvedRef({ kind: 'branch', branch: 'main' }, refs).revision, `main@sha1:${A}`);
  assert.equal(pickResolvedRef({ kind: 'branch', branch: 'feature/x' }, refs).revision, `feature/x@sha1:${B}`);
  // An annotated tag resolves to the commit, not to the tag object.
  const tag = pickResolvedRef({ kind: 'tag', tag: 'v1.0.0' }, refs);
  assert.deepEqual(tag, { kind: 'tag', refName: 'refs/tags/v1.0.0', commit: C, revision: `v1.0.0@sha1:${C}` });
  const semver = pickResolvedRef({ kind: 'semver', range: '>= 1.0.0, < 2.0.0' }, refs);
  assert.equal(semver.revision, `v1.1.0@sha1:${B}`);
  assert.equal(pickResolvedRef({ kind: 'semver', range: '1.0.x' }, refs).commit, C);
  assert.equal(pickResolvedRef({ kind: 'name', name: 'refs/pull/7/head' }, refs).revision, `refs/pull/7/head@sha1:${C}`);
  assert.equal(pickResolvedRef({ kind: 'commit', commit: B }, new Map()).revision, `sha1:${B}`);
  assert.equal(pickResolvedRef({ kind: 'commit', commit: B, branch: 'main' }, refs).revision, `main@sha1:${B}`);
});

test('missing refs say what was looked for', () => {
  const refs = new Map([['refs/heads/main', A]]);
  const missing = (ref: Parameters<typeof pickResolvedRef>[0], text: string): void =>
    assert.throws(() => pickResolvedRef(ref, refs), (e: unknown) => e instanceof RefNotFound && e.description === text);
  missing({ kind: 'branch', branch: 'dev' }, "branch 'dev'");
  missing({ kind: 'tag', tag: 'v9' }, "tag 'v9'");
  missing({ kind: 'semver', range: '>= 1' }, "a tag matching semver range '>= 1'");
  missing({ kind: 'commit', commit: A, branch: 'dev' }, "branch 'dev'");
});

test('formatRevision, normalizeRevision and commitOfRevision', () => {
  const sha256 = 'e'.repeat(64);
  assert.equal(formatRevision('branch', 'refs/heads/main', sha256), `main@sha256:${sha256}`);
  assert.equal(normalizeRevision(`main/${A}`), `main@sha1:${A}`);
  assert.equal(normalizeRevision(A), `sha1:${A}`);
  assert.equal(normalizeRevision(`main@sha1:${A}`), `main@sha1:${A}`);
  assert.equal(commitOfRevision(`feature/x@sha1:${B}`), B);
  assert.equal(commitOfRevision(`sha1:${B}`), B);
  assert.equal(commitOfRevision('v1.0.0'), undefined);
});
