import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StallingError } from '../../runtime/errors.ts';
import { authFromSecretData, authFromSecretValues, proxyFromSecretData } from './auth.ts';

const b64 = (values: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));

function incomplete(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof StallingError && e.reason === 'AuthenticationFailed' && pattern.test(e.message));
}

test('HTTPS basic auth from username and password (base64 Secret data)', () => {
  const auth = authFromSecretData(b64({ username: 'alice', password: 'pw' }), 'https://example.com/r.git');
  assert.deepEqual(auth, { type: 'basic', username: 'alice', password: 'pw' });
});

test('bearerToken wins over username/password, and conflicts with URL credentials', () => {
  assert.deepEqual(authFromSecretValues({ bearerToken: 'tok', username: 'alice', password: 'pw' }, 'https://example.com/r.git'), {
    type: 'bearer',
    token: 'tok',
  });
  incomplete(() => authFromSecretValues({ bearerToken: 'tok' }, 'https://bob:pw@example.com/r.git'), /bearer token and credentials in the URL/);
});

test('TLS: ca.crt, legacy caFile, and tls.crt + tls.key together', () => {
  const auth = authFromSecretValues({ caFile: 'CA', 'tls.crt': 'CERT', 'tls.key': 'KEY' }, 'https://example.com/r.git');
  assert.deepEqual(auth, { type: 'none', tls: { caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' } });
  const preferred = authFromSecretValues({ 'ca.crt': 'NEW', caFile: 'OLD' }, 'https://example.com/r.git');
  assert.equal(preferred.type === 'none' ? preferred.tls?.caPem : undefined, 'NEW');
  incomplete(() => authFromSecretValues({ 'tls.crt': 'CERT' }, 'https://example.com/r.git'), /'tls.crt' and 'tls.key'.*missing 'tls.key'/);
});

test('password without username is refused', () => {
  incomplete(() => authFromSecretValues({ password: 'pw' }, 'https://example.com/r.git'), /'password' requires 'username'/);
});

test('credentials written in the URL are used when the Secret has none', () => {
  assert.deepEqual(authFromSecretValues(undefined, 'https://bob:pw@example.com/r.git'), { type: 'basic', username: 'bob', password: 'pw' });
  assert.deepEqual(authFromSecretValues(undefined, 'https://example.com/r.git'), { type: 'none' });
});

test('SSH needs identity and known_hosts; password is the key passphrase', () => {
  const auth = authFromSecretValues({ identity: 'KEY', known_hosts: 'host ssh-ed25519 AAAA', password: 'pp', username: 'ignored' }, 'ssh://git@example.com/r.git');
  assert.deepEqual(auth, { type: 'ssh', identity: 'KEY', knownHosts: 'host ssh-ed25519 AAAA', password: 'pp' });
  incomplete(() => authFromSecretValues({ identity: 'KEY' }, 'ssh://git@example.com/r.git'), /missing 'known_hosts'/);
  incomplete(() => authFromSecretValues({ known_hosts: 'x' }, 'ssh://git@example.com/r.git'), /missing 'identity'/);
  incomplete(() => authFromSecretValues({}, 'ssh://git@example.com/r.git'), /missing 'identity' and 'known_hosts'/);
  incomplete(() => authFromSecretValues(undefined, 'ssh://git@example.com/r.git'), /needs a secretRef/);
});

test('an invalid URL is reported before the Secret is looked at', () => {
  assert.throws(() => authFromSecretValues({}, '--upload-pack=x'), (e: unknown) => e instanceof StallingError && e.reason === 'URLInvalid');
});

test('proxy from a proxySecretRef Secret', () => {
  assert.deepEqual(proxyFromSecretData(b64({ address: 'http://proxy:3128', username: 'u', password: 'p' })), {
    url: 'http://proxy:3128',
    username: 'u',
    password: 'p',
  });
  incomplete(() => proxyFromSecretData(b64({ username: 'u' })), /needs an 'address'/);
  incomplete(() => proxyFromSecretData(b64({ address: 'ftp://proxy' })), /scheme 'ftp'/);
});
