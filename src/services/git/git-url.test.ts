import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StallingError } from '../../runtime/errors.ts';
import { displayUrl, parseGitUrl } from './git-url.ts';

function refused(url: string, pattern: RegExp, options = {}): void {
  assert.throws(
    () => parseGitUrl(url, options),
    (e: unknown) => e instanceof StallingError && e.reason === 'URLInvalid' && pattern.test(e.message),
    url,
  );
}

test('URLs git could read as an option are refused', () => {
  refused('--upload-pack=touch /tmp/pwned', /must not start with "-"/);
  refused('-c', /must not start with "-"/);
  refused('ssh://-oProxyCommand=touch%20x/repo', /host must not start with "-"/);
  refused('ssh://-oProxyCommand=x@host/repo', /user must not start with "-"/);
});

test('only http, https and ssh are accepted (file:// when enabled for tests)', () => {
  refused('ext::sh -c touch% /tmp/pwned', /whitespace|remote helpers/);
  refused('ext::ssh', /remote helpers/);
  refused('fd::17', /remote helpers/);
  refused('file:///etc', /scheme 'file' is not supported/);
  refused('git://example.com/repo.git', /scheme 'git' is not supported/);
  refused('git@github.com:org/repo.git', /scp-like addresses are not supported/);
  refused('https://example.com/a b', /whitespace/);
  refused('https://example.com/a\nb', /whitespace/);
  assert.equal(parseGitUrl('file:///srv/repo.git', { allowFile: true }).scheme, 'file');
});

test('SSH URLs get the user git when none is given, as Flux does', () => {
  const parsed = parseGitUrl('ssh://example.com:2222/org/repo.git');
  assert.equal(parsed.url, 'ssh://git@example.com:2222/org/repo.git');
  assert.equal(parsed.host, 'example.com:2222');
  assert.equal(parseGitUrl('ssh://deploy@example.com/repo.git').url, 'ssh://deploy@example.com/repo.git');
});

test('HTTP credentials in the URL are taken out of it', () => {
  const parsed = parseGitUrl('https://alice:s%40cret@example.com/org/repo.git');
  assert.equal(parsed.url, 'https://example.com/org/repo.git');
  assert.deepEqual(parsed.userinfo, { username: 'alice', password: 's@cret' });
  assert.equal(parsed.origin, 'https://example.com/');
  assert.equal(parseGitUrl('http://127.0.0.1:8080/r.git').origin, 'http://127.0.0.1:8080/');
});

test('displayUrl never shows a password', () => {
  assert.equal(displayUrl('https://alice:s3cret@example.com/r.git'), 'https://example.com/r.git');
  assert.ok(!displayUrl('not a url://alice:s3cret@host').includes('s3cret'));
  assert.ok(!displayUrl('--upload-pack=x://a:s3cret@b').includes('s3cret'));
});
