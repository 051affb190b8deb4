import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransientError } from '../../runtime/errors.ts';
import { classifyStderr, gitFailure, gitTimeout, type FailureContext } from './failure.ts';

// Messages as git 2.39, curl and OpenSSH 9 print them under LC_ALL=C.
const SAMPLES: Record<string, string> = {
  authentication: "remote: HTTP Basic: Access denied\nfatal: Authentication failed for 'https://gitlab.example.com/g/r.git/'",
  sshDenied: 'git@github.com: Permission denied (publickey).\r\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists.',
  hostKey: 'No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\nfatal: Could not read from remote repository.',
  notFound: "remote: Repository not found.\nfatal: repository 'https://github.com/o/missing.git/' not found",
  sshNotFound: "fatal: '/srv/git/missing.git' does not appear to be a git repository\nfatal: Could not read from remote repository.",
  refused: "fatal: unable to access 'http://127.0.0.1:1/r.git/': Failed to connect to 127.0.0.1 port 1 after 0 ms: Couldn't connect to server",
  dns: "fatal: unable to access 'https://nope.invalid/r.git/': Could not resolve host: nope.invalid",
  sshRefused: 'ssh: connect to host 127.0.0.1 port 1: Connection refused\r\nfatal: Could not read from remote repository.',
  tls: "fatal: unable to access 'https://self-signed.example/r.git/': SSL certificate problem: self-signed certificate",
  badKey: 'Load key "/tmp/flotilla-git-x/identity": invalid format\r\ngit@host: Permission denied (publickey).',
  missingRef: "fatal: couldn't find remote ref refs/heads/nope",
  gnutlsUntrusted: "fatal: unable to access 'https://127.0.0.1:1/r.git/': server certificate verification failed. CAfile: none CRLfile: none",
  gnutlsAlert: "fatal: unable to access 'https://127.0.0.1:1/r.git/': GnuTLS recv error (-12): A TLS fatal alert has been received.",
};

test('stderr is classified by cause', () => {
  assert.equal(classifyStderr(SAMPLES.authentication ?? ''), 'authentication');
  assert.equal(classifyStderr(SAMPLES.sshDenied ?? ''), 'authentication');
  assert.equal(classifyStderr(SAMPLES.hostKey ?? ''), 'hostKeyVerification');
  assert.equal(classifyStderr(SAMPLES.notFound ?? ''), 'repositoryNotFound');
  assert.equal(classifyStderr(SAMPLES.sshNotFound ?? ''), 'repositoryNotFound');
  assert.equal(classifyStderr(SAMPLES.refused ?? ''), 'unreachable');
  assert.equal(classifyStderr(SAMPLES.dns ?? ''), 'unreachable');
  assert.equal(classifyStderr(SAMPLES.sshRefused ?? ''), 'unreachable');
  assert.equal(classifyStderr(SAMPLES.tls ?? ''), 'tls');
  assert.equal(classifyStderr(SAMPLES.badKey ?? ''), 'invalidIdentity');
  assert.equal(classifyStderr(SAMPLES.missingRef ?? ''), 'refNotFound');
  assert.equal(classifyStderr(SAMPLES.gnutlsUntrusted ?? ''), 'tls');
  assert.equal(classifyStderr(SAMPLES.gnutlsAlert ?? ''), 'tls');
  assert.equal(classifyStderr('fatal: something new'), undefined);
});

const context: FailureContext = {
  operation: 'git ls-remote',
  url: 'https://example.com/r.git',
  host: 'example.com',
  transport: 'https',
  credentials: true,
  secrets: ['canary-secret-value'],
};

test('failures are transient GitOperationFailed errors with a readable message and no secret', () => {
  const err = gitFailure("fatal: unable to access 'https://u:canary-secret-value@example.com/': Could not resolve host: example.com", context);
  assert.ok(err instanceof TransientError);
  assert.equal(err.reason, 'GitOperationFailed');
  assert.equal(err.failure, 'unreachable');
  assert.match(err.message, /^cannot reach example\.com for https:\/\/example\.com\/r\.git \(git: .*Could not resolve host/);
  assert.ok(!err.message.includes('canary-secret-value'));
  assert.ok(!err.detail.includes('canary-secret-value'));
});

test("SSH boilerplate is dropped from the detail; the cause is kept", () => {
  const err = gitFailure(SAMPLES.hostKey ?? '', { ...context, transport: 'ssh', host: '127.0.0.1:2222' });
  assert.match(err.message, /^host key verification failed for 127\.0\.0\.1:2222/);
  assert.match(err.detail, /Host key verification failed/);
  assert.doesNotMatch(err.detail, /Could not read from remote repository/);
});

test('a 401 after a rejected credential header is explained as such', () => {
  const stderr = "error: unable to read askpass response from 'false'\nfatal: could not read Username for 'http://127.0.0.1:1234': terminal prompts disabled";
  const err = gitFailure(stderr, context);
  assert.equal(err.failure, 'authentication');
  assert.match(err.message, /401 Unauthorized to the credentials/);
  assert.match(gitFailure(stderr, { ...context, credentials: false }).message, /no credentials were given/);
});

test('timeouts name the operation and the deadline', () => {
  const err = gitTimeout(context, 1500, '');
  assert.equal(err.failure, 'timeout');
  assert.equal(err.message, 'git ls-remote of https://example.com/r.git timed out after 1.5s: example.com did not answer in time');
});

test('TLS messages tell an untrusted server from a refused client', () => {
  const tlsContext = { ...context, host: '127.0.0.1:1' };
  assert.match(gitFailure(SAMPLES.gnutlsUntrusted ?? '', tlsContext).message, /server certificate is not trusted \(set 'ca\.crt'/);
  assert.match(gitFailure(SAMPLES.gnutlsAlert ?? '', tlsContext).message, /'tls\.crt'\/'tls\.key' if the server requires a client certificate/);
});
