/**
 * The git client against real servers started by the harness: smart HTTP through
 * `git http-backend` (basic and bearer auth) and SSH through `sshd` (known_hosts checked).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { StallingError } from '../../src/runtime/errors.ts';
import { createLogger } from '../../src/runtime/log/logger.ts';
import {
  CliGitClient,
  GitOperationError,
  authFromSecretValues,
  type GitAuth,
  type GitFailure,
} from '../../src/services/git/index.ts';
import {
  commitFiles,
  createRepo,
  generateTestPki,
  harnessGit,
  repoPath,
  revParse,
  startGitHttpServer,
  type GitHttpServer,
  type TestPki,
} from '../harness/git-server.ts';
import { generateSshKey, knownHostsLine, startSshGitServer, type SshGitServer } from '../harness/ssh-server.ts';

const CANARY = 'canary-Pa55w0rd-7f3e9b';
const WRONG_CANARY = 'canary-WRONG-4a1c2d';
const TOKEN = 'canary-token-91b2c3';

let root: string;
let work: string;
let http: GitHttpServer;
let bearerHttp: GitHttpServer;
let ssh: SshGitServer;
let httpsServer: GitHttpServer;
let mtlsServer: GitHttpServer;
let pki: TestPki;
const logLines: string[] = [];
const git = new CliGitClient({
  logger: createLogger(
    'debug',
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    }),
  ),
});
const basic: GitAuth = { type: 'basic', username: 'flux', password: CANARY };
let sshAuth: GitAuth;
const commits: Record<string, string> = {};

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'git-repos-'));
  work = await mkdtemp(path.join(tmpdir(), 'git-work-'));
  commits.first = await createRepo(root, 'app', { 'README.md': '# app\n', 'deploy/app.yaml': 'kind: ConfigMap\n', 'other/x.txt': 'x' });
  commits.v1 = await commitFiles(root, 'app', { 'deploy/app.yaml': 'kind: ConfigMap # v1\n' }, { annotatedTag: { name: 'v1.0.0', message: 'release 1.0.0' } });
  commits.v11 = await commitFiles(root, 'app', { 'deploy/app.yaml': 'kind: ConfigMap # v1.1\n' }, { tag: 'v1.1.0' });
  commits.v2rc = await commitFiles(root, 'app', { 'deploy/app.yaml': 'kind: ConfigMap # v2-rc\n' }, { tag: 'v2.0.0-rc.1' });
  commits.dev = await commitFiles(root, 'app', { 'dev.txt': 'dev' }, { branch: 'feature/dev', message: 'dev branch' });
  commits.master = await commitFiles(root, 'app', { 'master.txt': 'm' }, { branch: 'master', message: 'master branch' });
  http = await startGitHttpServer({ root, username: 'flux', password: CANARY });
  bearerHttp = await startGitHttpServer({ root, token: TOKEN });
  ssh = await startSshGitServer({ root });
  pki = await generateTestPki();
  httpsServer = await startGitHttpServer({ root, username: 'flux', password: CANARY, tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem } });
  mtlsServer = await startGitHttpServer({ root, tls: { certPem: pki.serverCertPem, keyPem: pki.serverKeyPem, clientCaPem: pki.caPem } });
  sshAuth = { type: 'ssh', identity: ssh.clientKey, knownHosts: ssh.knownHosts };
});

after(async () => {
  await Promise.all([http?.close(), bearerHttp?.close(), ssh?.close(), httpsServer?.close(), mtlsServer?.close()]);
  await rm(root, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  return mkdtemp(path.join(work, 'co-'));
}

async function expectGitError(promise: Promise<unknown>, failure: GitFailure, message: RegExp): Promise<GitOperationError> {
  let caught: unknown;
  try {
    await promise;
  } catch (e: unknown) {
    caught = e;
  }
  assert.ok(caught instanceof GitOperationError, `expected a GitOperationError, got ${String(caught)}`);
  assert.equal(caught.failure, failure, caught.message);
  assert.equal(caught.reason, 'GitOperationFailed');
  assert.match(caught.message, message);
  return caught;
}

function assertNoCanary(text: string): void {
  for (const secret of [CANARY, WRONG_CANARY, TOKEN, Buffer.from(`flux:${CANARY}`).toString('base64'), Buffer.from(`flux:${WRONG_CANARY}`).toString('base64')]) {
    assert.ok(!text.includes(secret), `secret leaked: ${text}`);
  }
}

describe('over HTTP with basic auth', () => {
  test('branch, tag, semver, name and commit refs resolve with Flux revisions', async () => {
    const url = http.url('app');
    const main = await git.resolveRef(url, basic, { branch: 'main' });
    assert.deepEqual(main, { kind: 'branch', refName: 'refs/heads/main', commit: commits.v2rc, revision: `main@sha1:${commits.v2rc}` });
    const feature = await git.resolveRef(url, basic, { branch: 'feature/dev' });
    assert.equal(feature.revision, `feature/dev@sha1:${commits.dev}`);
    // No ref at all means Flux's default branch, master.
    assert.equal((await git.resolveRef(url, basic, undefined)).revision, `master@sha1:${commits.master}`);
    // The annotated tag resolves to its commit.
    assert.equal((await git.resolveRef(url, basic, { tag: 'v1.0.0' })).revision, `v1.0.0@sha1:${commits.v1}`);
    assert.equal((await git.resolveRef(url, basic, { semver: '>= 1.0.0, < 2.0.0', tag: 'v1.0.0' })).revision, `v1.1.0@sha1:${commits.v11}`);
    assert.equal((await git.resolveRef(url, basic, { semver: '>= 2.0.0-0' })).revision, `v2.0.0-rc.1@sha1:${commits.v2rc}`);
    assert.equal((await git.resolveRef(url, basic, { name: 'refs/heads/main' })).revision, `refs/heads/main@sha1:${commits.v2rc}`);
    assert.equal((await git.resolveRef(url, basic, { commit: commits.first ?? '' })).revision, `sha1:${commits.first}`);
    assert.equal((await git.resolveRef(url, basic, { commit: commits.first ?? '', branch: 'main' })).revision, `main@sha1:${commits.first}`);
  });

  test('checkout fetches exactly the resolved ref, shallow', async () => {
    const url = http.url('app');
    const resolved = await git.resolveRef(url, basic, { tag: 'v1.0.0' });
    const dir = await freshDir();
    const result = await git.checkout(url, basic, resolved, dir);
    assert.equal(result.commit, commits.v1);
    assert.equal(result.revision, `v1.0.0@sha1:${commits.v1}`);
    assert.equal(await readFile(path.join(dir, 'deploy/app.yaml'), 'utf8'), 'kind: ConfigMap # v1\n');
    assert.equal(result.author.email, 'test@flotilla.invalid');
    assert.equal(await readFile(path.join(dir, '.git/shallow'), 'utf8'), `${commits.v1}\n`);

    // A commit that is not a branch tip.
    const old = await git.resolveRef(url, basic, { commit: commits.first ?? '' });
    const oldDir = await freshDir();
    const oldResult = await git.checkout(url, basic, old, oldDir);
    assert.equal(oldResult.commit, commits.first);
    assert.equal(oldResult.revision, `sha1:${commits.first}`);
    assert.equal(await readFile(path.join(oldDir, 'deploy/app.yaml'), 'utf8'), 'kind: ConfigMap\n');
  });

  test('sparse checkout keeps only the listed directories', async () => {
    const url = http.url('app');
    const resolved = await git.resolveRef(url, basic, { branch: 'main' });
    const dir = await freshDir();
    await git.checkout(url, basic, resolved, dir, { sparseCheckout: ['./deploy'] });
    assert.ok(existsSync(path.join(dir, 'deploy/app.yaml')));
    assert.ok(!existsSync(path.join(dir, 'other/x.txt')));
  });

  test('a no-op poll costs exactly one ls-remote; a checkout one fetch', async () => {
    const url = http.url('app');
    const first = await git.resolveRef(url, basic, { branch: 'main' });
    http.resetRequests();
    const again = await git.resolveRef(url, basic, { branch: 'main' });
    assert.equal(again.revision, first.revision);
    assert.deepEqual(
      http.requests.map((r) => `${r.method} ${r.command ?? ''} ${r.status}`),
      ['GET advertise 200', 'POST ls-refs 200'],
    );

    http.resetRequests();
    await git.checkout(url, basic, again, await freshDir());
    assert.deepEqual(
      http.requests.map((r) => `${r.method} ${r.command ?? ''}`),
      ['GET advertise', 'POST fetch'],
    );

    // A semver poll lists tags only, still one round of ls-refs.
    http.resetRequests();
    await git.resolveRef(url, basic, { semver: '*' });
    assert.deepEqual(http.requests.map((r) => r.command), ['advertise', 'ls-refs']);
  });

  test('a new commit shows up as a new revision', async () => {
    await createRepo(root, 'moving', { 'a.txt': '1' });
    const url = http.url('moving');
    const before = await git.resolveRef(url, basic, { branch: 'main' });
    const next = await commitFiles(root, 'moving', { 'a.txt': '2' });
    const after = await git.resolveRef(url, basic, { branch: 'main' });
    assert.notEqual(after.revision, before.revision);
    assert.equal(after.revision, `main@sha1:${next}`);
  });

  test('a wrong password fails with a clear message that contains no credential', async () => {
    const err = await expectGitError(
      git.resolveRef(http.url('app'), { type: 'basic', username: 'flux', password: WRONG_CANARY }, { branch: 'main' }),
      'authentication',
      /^authentication failed for http:\/\/127\.0\.0\.1:\d+\/app\.git: check the credentials in the Secret/,
    );
    assertNoCanary(`${err.message}\n${err.detail}\n${err.stack ?? ''}`);
    assertNoCanary(logLines.join(''));
    // The 401 was answered to our header: one request, no retry loop.
    assert.ok(http.requests.filter((r) => r.status === 401).length >= 1);
  });

  test('no credentials at all: the 401 is explained', async () => {
    await expectGitError(git.resolveRef(http.url('app'), { type: 'none' }, undefined), 'authentication', /no credentials were given/);
  });

  test('credentials from a Secret, and from the URL itself', async () => {
    const auth = authFromSecretValues({ username: 'flux', password: CANARY }, http.url('app'));
    assert.equal((await git.resolveRef(http.url('app'), auth, { branch: 'main' })).commit, commits.v2rc);
    const inUrl = http.url('app').replace('http://', `http://flux:${CANARY}@`);
    const resolved = await git.resolveRef(inUrl, { type: 'none' }, { branch: 'main' });
    assert.equal(resolved.commit, commits.v2rc);
  });

  test('a missing branch, tag or semver match says what is missing and where', async () => {
    const url = http.url('app');
    await expectGitError(git.resolveRef(url, basic, { branch: 'nope' }), 'refNotFound', new RegExp(`^branch 'nope' not found in ${url}$`));
    await expectGitError(git.resolveRef(url, basic, { tag: 'v9.9.9' }), 'refNotFound', /^tag 'v9\.9\.9' not found in/);
    await expectGitError(git.resolveRef(url, basic, { semver: '>= 5.0' }), 'refNotFound', /^a tag matching semver range '>= 5\.0' not found in/);
    const missing = 'f'.repeat(40);
    const resolved = await git.resolveRef(url, basic, { commit: missing });
    await expectGitError(git.checkout(url, basic, resolved, await freshDir()), 'refNotFound', new RegExp(`^commit '${missing}' not found in ${url}`));
  });

  test('a missing repository is reported as such', async () => {
    await expectGitError(git.resolveRef(http.url('missing'), basic, undefined), 'repositoryNotFound', /^repository http:\/\/127\.0\.0\.1:\d+\/missing\.git not found/);
  });

  test('an --upload-pack URL is refused before git runs', async () => {
    const marker = path.join(work, 'pwned');
    http.resetRequests();
    for (const url of [`--upload-pack=touch ${marker}`, '--upload-pack=id', `ext::sh -c touch% ${marker}`]) {
      await assert.rejects(
        git.resolveRef(url, { type: 'none' }, undefined),
        (e: unknown) => e instanceof StallingError && e.reason === 'URLInvalid',
      );
      await assert.rejects(git.lsRemote(url, { type: 'none' }, []), (e: unknown) => e instanceof StallingError);
    }
    assert.equal(existsSync(marker), false);
    assert.equal(http.requests.length, 0);
  });

  test('lsRemote returns the refs, peeled tags included', async () => {
    const refs = await git.lsRemote(http.url('app'), basic, ['refs/tags/*']);
    assert.equal(refs.get('refs/tags/v1.0.0^{}'), commits.v1);
    assert.equal(refs.get('refs/tags/v1.1.0'), commits.v11);
    assert.ok(![...refs.keys()].some((k) => k.startsWith('refs/heads/')));
  });

  test('submodules are fetched with the same credentials when asked', async () => {
    const subCommit = await createRepo(root, 'sub', { 'lib.txt': 'library' });
    await createRepo(root, 'parent', { 'main.txt': 'parent' });
    await addSubmodule('parent', 'vendor/sub', '../sub.git', subCommit);

    const url = http.url('parent');
    const resolved = await git.resolveRef(url, basic, { branch: 'main' });
    const plain = await freshDir();
    await git.checkout(url, basic, resolved, plain);
    assert.deepEqual(await readdir(path.join(plain, 'vendor/sub')), []);
    const recursive = await freshDir();
    await git.checkout(url, basic, resolved, recursive, { recurseSubmodules: true });
    assert.equal(await readFile(path.join(recursive, 'vendor/sub/lib.txt'), 'utf8'), 'library');
  });

  test('a submodule cannot read the local disk through file://', async () => {
    const subCommit = await createRepo(root, 'local-secret', { 'secret.txt': 'on the operator disk' });
    await createRepo(root, 'sneaky', { 'main.txt': 'parent' });
    await addSubmodule('sneaky', 'loot', `file://${path.join(root, 'local-secret.git')}`, subCommit);
    const url = http.url('sneaky');
    const resolved = await git.resolveRef(url, basic, { branch: 'main' });
    const dir = await freshDir();
    await expectGitError(git.checkout(url, basic, resolved, dir, { recurseSubmodules: true }), 'other', /transport 'file' not allowed/);
    assert.ok(!existsSync(path.join(dir, 'loot/secret.txt')));
  });

  test('commitAndPush commits the work tree and pushes it to another branch', async () => {
    await createRepo(root, 'auto', { 'app.yaml': 'image: app:1.0.0\n' });
    const url = http.url('auto');
    const resolved = await git.resolveRef(url, basic, { branch: 'main' });
    const dir = await freshDir();
    await git.checkout(url, basic, resolved, dir);

    const nothing = await git.commitAndPush(dir, { auth: basic, author: { name: 'Flux', email: 'flux@example.com' }, message: 'noop', branch: 'main' });
    assert.deepEqual(nothing, { pushed: false });

    const { writeFile } = await import('node:fs/promises');
    await writeFile(path.join(dir, 'app.yaml'), 'image: app:1.1.0\n');
    const message = 'Update app to 1.1.0\n\n# not a comment: kept verbatim\n';
    const pushed = await git.commitAndPush(dir, {
      auth: basic,
      author: { name: 'Flux', email: 'flux@example.com' },
      message,
      branch: 'main',
      pushBranch: 'auto/update',
    });
    assert.equal(pushed.pushed, true);
    assert.equal(pushed.pushBranch, 'auto/update');
    assert.equal(await revParse(root, 'auto', 'refs/heads/auto/update'), pushed.commit);
    assert.equal(await revParse(root, 'auto', 'refs/heads/main'), resolved.commit);
    const after = await git.resolveRef(url, basic, { branch: 'auto/update' });
    const check = await git.checkout(url, basic, after, await freshDir());
    assert.equal(check.message, message.trimEnd());
    assert.equal(check.author.name, 'Flux');
  });
});

describe('over HTTP with a bearer token', () => {
  test('the token is accepted, a wrong one is not (and never shown)', async () => {
    const url = bearerHttp.url('app');
    assert.equal((await git.resolveRef(url, { type: 'bearer', token: TOKEN }, { branch: 'main' })).commit, commits.v2rc);
    const err = await expectGitError(git.resolveRef(url, { type: 'bearer', token: `${TOKEN}-wrong` }, { branch: 'main' }), 'authentication', /authentication failed/);
    assertNoCanary(`${err.message}\n${err.detail}`);
  });
});

describe('over HTTPS with a private CA', () => {
  test('the CA from the Secret makes the server trusted; without it, a TLS error', async () => {
    const url = httpsServer.url('app');
    await expectGitError(git.resolveRef(url, basic, { branch: 'main' }), 'tls', /^TLS connection to 127\.0\.0\.1:\d+ failed.*'ca\.crt'/);
    const auth = authFromSecretValues({ username: 'flux', password: CANARY, 'ca.crt': pki.caPem }, url);
    const resolved = await git.resolveRef(url, auth, { branch: 'main' });
    assert.equal(resolved.commit, commits.v2rc);
    const dir = await freshDir();
    assert.equal((await git.checkout(url, auth, resolved, dir)).commit, commits.v2rc);
  });

  test('a client certificate from tls.crt and tls.key', async () => {
    const url = mtlsServer.url('app');
    const caOnly = authFromSecretValues({ 'ca.crt': pki.caPem }, url);
    await expectGitError(git.resolveRef(url, caOnly, { branch: 'main' }), 'tls', /TLS connection to .* 'tls\.crt'\/'tls\.key' if the server requires a client certificate/);
    const mutual = authFromSecretValues({ 'ca.crt': pki.caPem, 'tls.crt': pki.clientCertPem, 'tls.key': pki.clientKeyPem }, url);
    assert.equal((await git.resolveRef(url, mutual, { branch: 'main' })).commit, commits.v2rc);
  });
});

describe('over SSH with known_hosts', () => {
  test('resolves and checks out with the key and the right host key', async () => {
    const url = ssh.url('app');
    const resolved = await git.resolveRef(url, sshAuth, { semver: '~1.0' });
    assert.equal(resolved.revision, `v1.0.0@sha1:${commits.v1}`);
    const dir = await freshDir();
    const result = await git.checkout(url, sshAuth, resolved, dir);
    assert.equal(result.commit, commits.v1);
    assert.equal(await readFile(path.join(dir, 'deploy/app.yaml'), 'utf8'), 'kind: ConfigMap # v1\n');
  });

  test('an unknown or changed host key fails host key verification', async () => {
    const other = await generateSshKey();
    const wrong = { ...sshAuth, knownHosts: knownHostsLine(ssh.port, other.publicKey) } as GitAuth;
    await expectGitError(git.resolveRef(ssh.url('app'), wrong, undefined), 'hostKeyVerification', /^host key verification failed for 127\.0\.0\.1:\d+/);
    const elsewhere = { ...sshAuth, knownHosts: `[127.0.0.1]:1 ${ssh.hostPublicKey}` } as GitAuth;
    await expectGitError(git.resolveRef(ssh.url('app'), elsewhere, undefined), 'hostKeyVerification', /known_hosts/);
  });

  test('a key the server does not know fails authentication, without showing the key', async () => {
    const stranger = await generateSshKey();
    const err = await expectGitError(
      git.resolveRef(ssh.url('app'), { type: 'ssh', identity: stranger.privateKey, knownHosts: ssh.knownHosts }, undefined),
      'authentication',
      /refused the SSH key/,
    );
    const keyLine = stranger.privateKey.split('\n')[1] ?? '';
    assert.ok(keyLine.length > 16 && !err.message.includes(keyLine));
  });

  test('an encrypted key is unlocked with the Secret password', async () => {
    const passphrase = 'canary-passphrase-5e6f';
    const locked = await generateSshKey(passphrase);
    await ssh.authorizeKey(locked.publicKey);
    const auth: GitAuth = { type: 'ssh', identity: locked.privateKey, knownHosts: ssh.knownHosts, password: passphrase };
    assert.equal((await git.resolveRef(ssh.url('app'), auth, { branch: 'main' })).commit, commits.v2rc);
    const wrong: GitAuth = { ...auth, password: 'not-the-passphrase' };
    const err = await expectGitError(git.resolveRef(ssh.url('app'), wrong, { branch: 'main' }), 'invalidIdentity', /'password' does not decrypt it/);
    assert.ok(!err.message.includes('not-the-passphrase'));
  });

  test('an identity that is not a key is reported as such', async () => {
    const auth: GitAuth = { type: 'ssh', identity: 'this is not a private key', knownHosts: ssh.knownHosts };
    await expectGitError(git.resolveRef(ssh.url('app'), auth, undefined), 'invalidIdentity', /not a valid private key/);
  });

  test('a missing repository over SSH', async () => {
    await expectGitError(git.resolveRef(ssh.url('missing'), sshAuth, undefined), 'repositoryNotFound', /not found/);
  });
});

describe('unreachable remotes', () => {
  test('a closed port fails at once as unreachable', async () => {
    const port = await closedPort();
    await expectGitError(git.resolveRef(`http://127.0.0.1:${port}/app.git`, basic, undefined, { timeoutMs: 10_000 }), 'unreachable', /^cannot reach 127\.0\.0\.1:\d+/);
    await expectGitError(git.resolveRef(`ssh://git@127.0.0.1:${port}/app.git`, sshAuth, undefined, { timeoutMs: 10_000 }), 'unreachable', /cannot reach/);
  });

  test('a server that never answers hits the timeout', async () => {
    const { server, port, sockets } = await silentServer();
    try {
      const started = Date.now();
      await expectGitError(
        git.resolveRef(`http://127.0.0.1:${port}/app.git`, basic, undefined, { timeoutMs: 1500 }),
        'timeout',
        /^git ls-remote of http:\/\/127\.0\.0\.1:\d+\/app\.git timed out after 1\.5s/,
      );
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 1400 && elapsed < 6000, `took ${elapsed} ms`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** Adds `.gitmodules` and a gitlink (mode 160000) to `<repo>`'s main branch, with plumbing. */
async function addSubmodule(repo: string, subPath: string, subUrl: string, subCommit: string): Promise<void> {
  const gitmodules = `[submodule "${subPath}"]\n\tpath = ${subPath}\n\turl = ${subUrl}\n`;
  const withModules = await commitFiles(root, repo, { '.gitmodules': gitmodules });
  const env = {
    GIT_DIR: repoPath(root, repo),
    GIT_INDEX_FILE: path.join(work, `${repo}-index`),
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@t',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@t',
  };
  await harnessGit(['read-tree', withModules], { env });
  await harnessGit(['update-index', '--add', '--cacheinfo', `160000,${subCommit},${subPath}`], { env });
  const tree = (await harnessGit(['write-tree'], { env })).trim();
  const commit = (await harnessGit(['commit-tree', tree, '-p', withModules, '-m', 'add submodule'], { env })).trim();
  await harnessGit(['update-ref', 'refs/heads/main', commit, withModules], { env });
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 1;
}

/** Accepts connections and never sends a byte. */
async function silentServer(): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, sockets };
}
