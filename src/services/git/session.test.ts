import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseGitUrl } from './git-url.ts';
import { openSession, shellQuote, type SessionSettings } from './session.ts';

const settings: SessionSettings = { searchPath: '/usr/bin:/bin', allowFileProtocol: false, sshBinary: 'ssh' };

function configOf(env: Record<string, string>): Map<string, string> {
  const config = new Map<string, string>();
  for (let i = 0; i < Number(env.GIT_CONFIG_COUNT); i++) config.set(env[`GIT_CONFIG_KEY_${i}`] ?? '', env[`GIT_CONFIG_VALUE_${i}`] ?? '');
  return config;
}

test('shellQuote makes any string one literal shell word', () => {
  assert.equal(shellQuote('/tmp/abc'), '/tmp/abc');
  assert.equal(shellQuote("it's; rm -rf /"), `'it'\\''s; rm -rf /'`);
  assert.equal(shellQuote('$(x) `y`'), `'$(x) \`y\`'`);
});

test('HTTP credentials are scoped to the origin and passed through the environment', async () => {
  const target = parseGitUrl('https://git.example.com/org/repo.git');
  const session = await openSession(target, { type: 'bearer', token: 'canary-token', tls: { caPem: 'CA' } }, undefined, settings, 30);
  try {
    const config = configOf(session.env);
    assert.equal(config.get('http.https://git.example.com/.extraHeader'), 'Authorization: Bearer canary-token');
    assert.equal(config.get('protocol.allow'), 'never');
    assert.equal(config.get('protocol.file.allow'), undefined);
    assert.equal(config.get('core.hooksPath'), '/dev/null');
    const ca = config.get('http.https://git.example.com/.sslCAInfo') ?? '';
    assert.equal(await readFile(ca, 'utf8'), 'CA\n');
    assert.equal((await stat(ca)).mode & 0o777, 0o600);
    assert.equal(session.env.GIT_TERMINAL_PROMPT, '0');
    assert.equal(session.env.GIT_CONFIG_NOSYSTEM, '1');
    assert.equal(session.env.HOME, session.dir);
    assert.equal((await stat(session.dir)).mode & 0o777, 0o700);
    // The token is nowhere but in its header value.
    const elsewhere = Object.entries(session.env).filter(([, v]) => v.includes('canary-token'));
    assert.equal(elsewhere.length, 1);
  } finally {
    await session.dispose();
  }
  assert.equal(existsSync(session.dir), false);
});

test('SSH: key and known_hosts in 0600 files, strict host key checking, quoted paths', async () => {
  const target = parseGitUrl('ssh://git@example.com/repo.git');
  const session = await openSession(
    target,
    { type: 'ssh', identity: 'PRIVATE KEY', knownHosts: 'example.com ssh-ed25519 AAAA', password: 'pp' },
    undefined,
    settings,
    7,
  );
  try {
    const command = session.env.GIT_SSH_COMMAND ?? '';
    assert.match(command, /StrictHostKeyChecking=yes/);
    assert.match(command, new RegExp(`UserKnownHostsFile=${path.join(session.dir, 'known_hosts')}`));
    assert.match(command, /IdentitiesOnly=yes/);
    assert.match(command, /ConnectTimeout=7/);
    assert.doesNotMatch(command, /BatchMode/);
    assert.doesNotMatch(command, /PRIVATE KEY|pp\b/);
    for (const file of ['identity', 'known_hosts', 'passphrase']) {
      assert.equal((await stat(path.join(session.dir, file))).mode & 0o777, 0o600, file);
    }
    assert.equal(await readFile(path.join(session.dir, 'identity'), 'utf8'), 'PRIVATE KEY\n');
    assert.equal(session.env.SSH_ASKPASS_REQUIRE, 'force');
  } finally {
    await session.dispose();
  }
});

test('proxy credentials go into the proxy URL in the environment, file:// only when enabled', async () => {
  const session = await openSession(
    parseGitUrl('file:///srv/r.git', { allowFile: true }),
    { type: 'none' },
    { url: 'http://proxy.example:3128', username: 'u', password: 'p@ss' },
    { ...settings, allowFileProtocol: true },
    30,
  );
  try {
    const config = configOf(session.env);
    assert.equal(config.get('http.proxy'), 'http://u:p%40ss@proxy.example:3128/');
    assert.equal(config.get('protocol.file.allow'), 'always');
  } finally {
    await session.dispose();
  }
});
