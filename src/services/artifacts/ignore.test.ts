import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DEFAULT_EXCLUDES,
  IgnoreMatcher,
  parseIgnorePattern,
  parseIgnoreText,
  sourceIgnoreMatcher,
  VCS_EXCLUDES,
} from './ignore.ts';
import { loadSourceIgnorePatterns } from './source-tree.ts';

type Case = readonly [path: string, isDir: boolean, ignored: boolean];

function check(matcher: IgnoreMatcher, cases: readonly Case[], label: string): void {
  for (const [p, isDir, expected] of cases) {
    assert.equal(matcher.ignores(p, isDir), expected, `${label}: '${p}'${isDir ? ' (dir)' : ''} should ${expected ? '' : 'not '}be ignored`);
  }
}

function rules(text: string): IgnoreMatcher {
  return new IgnoreMatcher(parseIgnoreText(text));
}

test('the default lists are exactly fluxcd/pkg sourceignore', () => {
  assert.deepEqual(VCS_EXCLUDES, ['.git/', '.gitignore', '.gitmodules', '.gitattributes']);
  assert.deepEqual(DEFAULT_EXCLUDES, [
    '*.jpg', '*.jpeg', '*.gif', '*.png', '*.wmv', '*.flv', '*.tar.gz', '*.zip',
    '.github/', '.circleci/', '.travis.yml', '.gitlab-ci.yml', 'appveyor.yml', '.drone.yml',
    'cloudbuild.yaml', 'codeship-services.yml', 'codeship-steps.yml',
    '**/.goreleaser.yml', '**/.sops.yaml', '**/.flux.yaml',
  ]);
});

test('without user patterns, VCS files and the default excludes are ignored', () => {
  check(sourceIgnoreMatcher([]), [
    ['.git', true, true],
    ['.git/config', false, true],
    ['.gitignore', false, true],
    ['apps/.gitignore', false, true],
    ['.gitmodules', false, true],
    ['.gitattributes', false, true],
    ['docs/logo.png', false, true],
    ['photo.JPG', false, false],
    ['release.tar.gz', false, true],
    ['bundle.zip', false, true],
    ['.github', true, true],
    ['.github/workflows/ci.yaml', false, true],
    ['.github', false, false],
    ['.circleci/config.yml', false, true],
    ['.travis.yml', false, true],
    ['nested/.gitlab-ci.yml', false, true],
    ['cloudbuild.yaml', false, true],
    ['.sops.yaml', false, true],
    ['clusters/prod/.sops.yaml', false, true],
    ['.flux.yaml', false, true],
    ['.goreleaser.yml', false, true],
    ['deploy/app.yaml', false, false],
    ['kustomization.yaml', false, false],
    ['deploy', true, false],
  ], 'defaults');
});

test('any user pattern replaces the default excludes but not the VCS ones', () => {
  const matcher = sourceIgnoreMatcher(parseIgnoreText('*.txt'));
  check(matcher, [
    ['notes.txt', false, true],
    ['logo.png', false, false],
    ['.github/workflows/ci.yaml', false, false],
    ['.gitignore', false, true],
    ['.git/HEAD', false, true],
  ], 'user patterns');
});

test('a pattern without a slash matches any segment, and everything below it', () => {
  check(rules('foo'), [
    ['foo', false, true],
    ['foo', true, true],
    ['a/foo', false, true],
    ['a/foo/b.yaml', false, true],
    ['foobar', false, false],
    ['a/barfoo', false, false],
  ], 'foo');
});

test('a trailing slash restricts the last segment to directories', () => {
  check(rules('build/'), [
    ['build', true, true],
    ['build', false, false],
    ['a/build', true, true],
    ['a/build', false, false],
    ['a/build/x.yaml', false, true],
  ], 'build/');
});

test('a leading slash or an inner slash anchors the pattern to its directory', () => {
  check(rules('/foo'), [
    ['foo', false, true],
    ['foo/bar.yaml', false, true],
    ['a/foo', false, false],
  ], '/foo');
  check(rules('a/b'), [
    ['a/b', false, true],
    ['a/b/c', false, true],
    ['x/a/b', false, false],
    ['a/bc', false, false],
  ], 'a/b');
  check(rules('deploy/*.yaml'), [
    ['deploy/app.yaml', false, true],
    ['deploy/sub/app.yaml', false, false],
    ['other/deploy/app.yaml', false, false],
  ], 'deploy/*.yaml');
});

test('double stars span any number of directories', () => {
  check(rules('**/secret'), [
    ['secret', false, true],
    ['a/b/secret', false, true],
    ['a/secret/x', false, true],
    ['a/secretx', false, false],
  ], '**/secret');
  check(rules('a/**/b'), [
    ['a/b', false, true],
    ['a/x/y/b', false, true],
    ['a/x/y/b/z', false, true],
    ['a/x', false, false],
    ['c/a/b', false, false],
  ], 'a/**/b');
  check(rules('logs/**'), [
    ['logs/x', false, true],
    ['logs/x/y', false, true],
    ['other/logs/x', false, false],
  ], 'logs/**');
  check(rules('a/x**y/b'), [['a/xzy/b', false, false]], 'stars inside a segment with ** never match, as in Flux');
});

test('stars, question marks and character classes match within one segment', () => {
  check(rules('*.yaml'), [
    ['x.yaml', false, true],
    ['a/b/x.yaml', false, true],
    ['x.yml', false, false],
    ['.yaml', false, true],
  ], '*.yaml');
  check(rules('?.md'), [
    ['a.md', false, true],
    ['ab.md', false, false],
    ['.md', false, false],
  ], '?.md');
  check(rules('[abc].txt'), [
    ['b.txt', false, true],
    ['d.txt', false, false],
  ], '[abc].txt');
  check(rules('v[0-9]'), [
    ['v7', false, true],
    ['vx', false, false],
  ], 'v[0-9]');
  check(rules('[^a-c]x\n[!m]y'), [
    ['dx', false, true],
    ['ax', false, false],
    ['ny', false, true],
    ['my', false, false],
  ], 'negated classes');
  check(rules('[\\]]x'), [[']x', false, true]], 'escaped bracket in a class');
  check(rules('*-prod-*'), [
    ['app-prod-1.yaml', false, true],
    ['app-staging-1.yaml', false, false],
  ], '*-prod-*');
});

test('escapes, comments, blank lines, trailing spaces and CRLF', () => {
  check(rules('\\!important\n\\#hash\n# a comment\n\n   \ntrailing   \nspace\\ \r\ncrlf\r\n'), [
    ['!important', false, true],
    ['#hash', false, true],
    ['# a comment', false, false],
    ['trailing', false, true],
    ['space ', false, true],
    ['space', false, false],
    ['crlf', false, true],
  ], 'syntax');
  assert.equal(parseIgnoreText('# only\n\n  \n').length, 0);
});

test('malformed patterns match nothing', () => {
  check(rules('[\nab[\n[]\n[a-\ntrailing\\'), [
    ['[', false, false],
    ['ab[', false, false],
    ['a', false, false],
    ['trailing\\', false, false],
    ['trailing', false, false],
  ], 'malformed');
});

test('the last matching pattern wins, and negation re-includes', () => {
  check(rules('*.yaml\n!keep.yaml'), [
    ['a.yaml', false, true],
    ['keep.yaml', false, false],
    ['dir/keep.yaml', false, false],
  ], 'negation');
  check(rules('!a.txt\na.txt'), [['a.txt', false, true]], 'later exclude wins');
});

test("Flux's include-only idiom keeps one directory", () => {
  check(rules('/*\n!/deploy\n/deploy/**/secret*'), [
    ['README.md', false, true],
    ['src', true, true],
    ['src/main.go', false, true],
    ['deploy', true, false],
    ['deploy/app.yaml', false, false],
    ['deploy/base/kustomization.yaml', false, false],
    ['deploy/base/secret.yaml', false, true],
  ], 'include-only');
});

test('patterns from a nested .sourceignore apply only below their directory', () => {
  const matcher = new IgnoreMatcher(parseIgnoreText('*.txt\n/only\n!keep.txt', ['sub']));
  check(matcher, [
    ['sub/a.txt', false, true],
    ['sub/x/a.txt', false, true],
    ['a.txt', false, false],
    ['other/a.txt', false, false],
    ['sub', true, false],
    ['sub/only', false, true],
    ['sub/x/only', false, false],
    ['sub/keep.txt', false, false],
  ], 'domain sub');
  assert.deepEqual(parseIgnorePattern('x', ['a', 'b']).domain, ['a', 'b']);
});

test('matching is linear: a pathological pattern against a long name returns at once', () => {
  const matcher = rules(`${'*a'.repeat(30)}*b`);
  const name = 'a'.repeat(20_000);
  const started = performance.now();
  assert.equal(matcher.ignores(name, false), false);
  assert.ok(performance.now() - started < 2_000, 'took too long');
});

test('.sourceignore files are loaded recursively, outer first, scoped to their directory', async (t) => {
  const root = await mkdtemp(path.join(tmpdir(), 'flotilla-ignore-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  await mkdir(path.join(root, 'apps', 'web'), { recursive: true });
  await mkdir(path.join(root, '.git'), { recursive: true });
  await writeFile(path.join(root, '.sourceignore'), '*.md\n');
  await writeFile(path.join(root, 'apps', '.sourceignore'), '# comment\n!README.md\ntmp/\n');
  await writeFile(path.join(root, 'apps', 'web', '.sourceignore'), '*.json\n');
  await writeFile(path.join(root, '.git', '.sourceignore'), '*\n');
  // A .sourceignore that is a symlink is never opened (it could point at a device).
  await mkdir(path.join(root, 'linked'));
  await symlink('/dev/zero', path.join(root, 'linked', '.sourceignore'));

  const patterns = await loadSourceIgnorePatterns(root);
  assert.deepEqual(patterns.map((p) => [p.domain.join('/'), p.source]), [
    ['', '*.md'],
    ['apps', '!README.md'],
    ['apps', 'tmp/'],
    ['apps/web', '*.json'],
  ]);
  check(sourceIgnoreMatcher(patterns), [
    ['README.md', false, true],
    ['apps/README.md', false, false],
    ['apps/web/README.md', false, false],
    ['apps/tmp', true, true],
    ['apps/web/package.json', false, true],
    ['package.json', false, false],
    ['logo.png', false, false],
  ], 'loaded');
});
