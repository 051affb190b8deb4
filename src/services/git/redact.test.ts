import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redact, secretsOf } from './redact.ts';

const KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACBl6DZ0Zzq3T1ZkN8ZqkQp5y0bO1nE8J1T0xJc5u3W0qQAAAJgdq1kXHatZ
-----END OPENSSH PRIVATE KEY-----
`;

test('redact removes each secret and its encoded forms', () => {
  const secret = 'canary-p@ss/word';
  const text = [
    `password ${secret}`,
    `url-encoded ${encodeURIComponent(secret)}`,
    `base64 ${Buffer.from(secret).toString('base64')}`,
  ].join('\n');
  const out = redact(text, [secret]);
  assert.ok(!out.includes(secret));
  assert.ok(!out.includes(encodeURIComponent(secret)));
  assert.ok(!out.includes(Buffer.from(secret).toString('base64')));
  assert.equal(out.split('***').length - 1, 3);
});

test('redact masks the basic-auth header value built from username:password', () => {
  const auth = { type: 'basic' as const, username: 'alice', password: 'canary-123' };
  const header = `Authorization: Basic ${Buffer.from('alice:canary-123').toString('base64')}`;
  const out = redact(`sent ${header}`, secretsOf(auth));
  assert.ok(!out.includes(Buffer.from('alice:canary-123').toString('base64')));
  assert.match(out, /Authorization: Basic \*\*\*/);
});

test('redact masks URL passwords and Authorization headers even without the secret list', () => {
  assert.equal(redact("fatal: unable to access 'https://bob:hunter2@example.com/repo.git/'", []), "fatal: unable to access 'https://bob:***@example.com/repo.git/'");
  assert.equal(redact('Authorization: Bearer abc.def.ghi', []), 'Authorization: Bearer ***');
  assert.equal(redact('ssh://git@example.com:22/repo.git', []), 'ssh://git@example.com:22/repo.git');
  assert.equal(redact('http://example.com:8080/a@b', []), 'http://example.com:8080/a@b');
});

test('redact masks a private key whole and line by line', () => {
  const secrets = secretsOf({ type: 'ssh', identity: KEY, knownHosts: 'x', password: 'key-passphrase' });
  const line = KEY.split('\n')[2] ?? '';
  const out = redact(`key:\n${KEY}\nand a line alone: ${line}\npassphrase key-passphrase`, secrets);
  assert.ok(!out.includes(line));
  assert.ok(!out.includes('key-passphrase'));
});

test('redact leaves short values alone rather than garbling every message', () => {
  assert.equal(redact('a bad day', ['a']), 'a bad day');
});

test('secretsOf lists token, TLS key and proxy password', () => {
  const s = secretsOf({ type: 'bearer', token: 'tok-canary', tls: { keyPem: 'KEYPEM-canary' } }, { url: 'http://proxy', username: 'p', password: 'proxy-canary' });
  assert.deepEqual(new Set(s), new Set(['tok-canary', 'KEYPEM-canary', 'proxy-canary', 'p:proxy-canary']));
});
