import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { KubeObject } from '../../src/runtime/client/objects.ts';
import { extractTarGz } from '../../src/services/artifacts/index.ts';
import { eventually, useCluster } from '../harness/cluster.ts';
import { commitFiles, createRepo, startGitHttpServer, type GitHttpServer } from '../harness/git-server.ts';
import { generateSshKey, startSshGitServer, type SshGitServer } from '../harness/ssh-server.ts';
import { startTestOperator, type TestOperator } from '../harness/operator.ts';

const run = promisify(execFile);
const cluster = useCluster();
const CANARY = 'canary-Pa55w0rd-7f3e';
let root: string;
let http: GitHttpServer;
let ssh: SshGitServer;
let op: TestOperator;
let ns: string;

interface GitRepo extends KubeObject {
  status?: {
    artifact?: { revision: string; digest: string; url: string; path: string; size: number };
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
    observedIgnore?: string;
    observedGeneration?: number;
  };
}

const ref = (name: string) => ({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace: ns, name });

async function apply(name: string, spec: Record<string, unknown>): Promise<void> {
  await cluster.get().client.apply(
    { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name, namespace: ns }, spec: { interval: '1m', ...spec } },
    { fieldManager: 'test', force: true },
  );
}

async function secret(name: string, data: Record<string, string>): Promise<void> {
  await cluster.get().client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, stringData: data }, { fieldManager: 'test', force: true });
}

function ready(o: GitRepo | undefined) {
  return o?.status?.conditions?.find((c) => c.type === 'Ready');
}

async function waitReady(name: string, pred: (o: GitRepo) => boolean = () => true, timeoutMs = 30_000): Promise<GitRepo> {
  return eventually(async () => {
    const o = await cluster.get().client.get<GitRepo>(ref(name));
    return ready(o)?.status === 'True' && o && pred(o) ? o : undefined;
  }, timeoutMs, `${name} Ready`);
}

async function waitFailed(name: string, pred: (msg: string) => boolean = () => true, timeoutMs = 30_000): Promise<GitRepo> {
  return eventually(async () => {
    const o = await cluster.get().client.get<GitRepo>(ref(name));
    const r = ready(o);
    return r?.status === 'False' && o && pred(r.message) ? o : undefined;
  }, timeoutMs, `${name} Ready=False`);
}

async function eventsFor(name: string): Promise<Array<{ type: string; reason: string; message: string; annotations: Record<string, string> }>> {
  const list = await cluster.get().client.list('v1', 'Event', { namespace: ns });
  return list.items
    .filter((e) => (e['involvedObject'] as { name: string }).name === name)
    .map((e) => ({ type: String(e['type']), reason: String(e['reason']), message: String(e['message']), annotations: e.metadata.annotations ?? {} }));
}

async function requestReconcile(name: string): Promise<void> {
  await cluster.get().client.patch(ref(name), { metadata: { annotations: { 'reconcile.fluxcd.io/requestedAt': new Date().toISOString() } } });
}

async function artifactFiles(o: GitRepo): Promise<string[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'artifact-'));
  try {
    const res = await fetch(o.status!.artifact!.url);
    assert.equal(res.status, 200, `artifact served at ${o.status!.artifact!.url}`);
    const file = path.join(dir, 'a.tgz');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, Buffer.from(await res.arrayBuffer()));
    await extractTarGz(file, path.join(dir, 'x'));
    return ((await readdir(path.join(dir, 'x'), { recursive: true })) as string[]).sort();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

before(async () => {
  const c = cluster.get();
  ns = await c.namespace('gitrepo');
  root = await mkdtemp(path.join(os.tmpdir(), 'git-root-'));
  http = await startGitHttpServer({ root, username: 'flux', password: CANARY });
  ssh = await startSshGitServer({ root });
  await createRepo(root, 'app', {
    'deploy/app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n',
    'README.md': '# app\n',
    'logo.png': 'not really a png',
  }, { message: 'first commit' });
  await secret('https-auth', { username: 'flux', password: CANARY });
  op = await startTestOperator(c.kubeconfigPath, ns);
});

after(async () => {
  await op?.stop();
  await http?.close();
  await ssh?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

test('HTTPS with basic auth: branch revision, artifact served, NewArtifact only on change, no-op poll is one ls-remote', async () => {
  await apply('app', { url: http.url('app'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' } });
  const o = await waitReady('app');
  const commit = o.status!.artifact!.revision.split('sha1:')[1];
  assert.match(o.status!.artifact!.revision, /^main@sha1:[0-9a-f]{40}$/);
  assert.match(o.status!.artifact!.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(ready(o)?.message, `stored artifact for revision 'main@sha1:${commit}'`);
  assert.equal(o.status!.artifact!.path, `gitrepository/${ns}/app/${o.status!.artifact!.digest.slice(7)}.tar.gz`);
  const files = await artifactFiles(o);
  assert.ok(files.includes('deploy/app.yaml') && files.includes('README.md'), files.join(','));
  assert.ok(!files.includes('logo.png'), 'default excludes drop images');
  const events = await eventsFor('app');
  const na = events.filter((e) => e.reason === 'NewArtifact');
  assert.equal(na.length, 1);
  assert.equal(na[0]?.message, "stored artifact for commit 'first commit'");
  assert.equal(na[0]?.annotations['source.toolkit.fluxcd.io/revision'], o.status!.artifact!.revision);

  // a poll with nothing new: exactly one ls-remote (advertise + ls-refs), no fetch, no new event
  http.resetRequests();
  await requestReconcile('app');
  await eventually(async () => (await cluster.get().client.get<GitRepo>(ref('app')))?.status?.['lastHandledReconcileAt' as never], 10_000);
  const fetches = http.requests.filter((r) => r.command === 'fetch' && r.path.includes('/app.git/'));
  assert.equal(fetches.length, 0, `no fetch on a no-op poll: ${JSON.stringify(http.requests)}`);
  assert.ok(http.requests.some((r) => r.command === 'ls-refs' || r.command === 'advertise'));
  assert.equal((await eventsFor('app')).filter((e) => e.reason === 'NewArtifact').length, 1);

  // a new commit → a new revision and one more NewArtifact event
  await commitFiles(root, 'app', { 'deploy/extra.yaml': 'kind: ConfigMap\n' }, { message: 'add extra' });
  await requestReconcile('app');
  const o2 = await waitReady('app', (x) => x.status?.artifact?.revision !== o.status!.artifact!.revision);
  assert.ok((await artifactFiles(o2)).includes('deploy/extra.yaml'));
  const na2 = (await eventsFor('app')).filter((e) => e.reason === 'NewArtifact');
  assert.equal(na2.length, 2);
  assert.ok(na2.some((e) => e.message === "stored artifact for commit 'add extra'"));
});

test('tag, semver and commit refs resolve like Flux', async () => {
  const c1 = await commitFiles(root, 'app', { 'v.txt': '1.0.0' }, { message: 'v1.0.0', tag: 'v1.0.0' });
  const c2 = await commitFiles(root, 'app', { 'v.txt': '1.1.0' }, { message: 'v1.1.0', annotatedTag: { name: 'v1.1.0', message: 'release' } });
  await commitFiles(root, 'app', { 'v.txt': '2.0.0' }, { message: 'v2.0.0', tag: 'v2.0.0' });
  await apply('by-tag', { url: http.url('app'), ref: { tag: 'v1.0.0' }, secretRef: { name: 'https-auth' } });
  await apply('by-semver', { url: http.url('app'), ref: { semver: '>=1.0.0 <2.0.0' }, secretRef: { name: 'https-auth' } });
  await apply('by-commit', { url: http.url('app'), ref: { branch: 'main', commit: c1 }, secretRef: { name: 'https-auth' } });
  assert.equal((await waitReady('by-tag')).status?.artifact?.revision, `v1.0.0@sha1:${c1}`);
  assert.equal((await waitReady('by-semver')).status?.artifact?.revision, `v1.1.0@sha1:${c2}`);
  assert.equal((await waitReady('by-commit')).status?.artifact?.revision, `main@sha1:${c1}`);
});

test('SSH with known_hosts; an unknown host key is refused with a clear message', async () => {
  await secret('ssh-auth', { identity: ssh.clientKey, known_hosts: ssh.knownHosts });
  await apply('over-ssh', { url: ssh.url('app'), ref: { branch: 'main' }, secretRef: { name: 'ssh-auth' } });
  assert.match((await waitReady('over-ssh')).status!.artifact!.revision, /^main@sha1:/);

  const other = await generateSshKey();
  await secret('ssh-wrong-host', { identity: ssh.clientKey, known_hosts: `[127.0.0.1]:${ssh.port} ${other.publicKey}` });
  await apply('ssh-bad-host', { url: ssh.url('app'), secretRef: { name: 'ssh-wrong-host' }, ref: { branch: 'main' } });
  const bad = await waitFailed('ssh-bad-host');
  assert.match(ready(bad)!.message, /host key/i);
  assert.ok(!JSON.stringify(bad.status).includes('PRIVATE KEY'), 'no key material in status');
});

test('include and ignore', async () => {
  await createRepo(root, 'shared', { 'base/common.yaml': 'kind: ConfigMap\n', 'base/skip.txt': 'x' });
  await apply('shared', { url: http.url('shared'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' } });
  await waitReady('shared');
  await apply('with-include', {
    url: http.url('app'),
    ref: { branch: 'main' },
    secretRef: { name: 'https-auth' },
    include: [{ repository: { name: 'shared' }, fromPath: 'base', toPath: 'vendor/shared' }],
    ignore: '*.md\n/vendor/shared/skip.txt\n',
  });
  const o = await waitReady('with-include');
  const files = await artifactFiles(o);
  assert.ok(files.includes('vendor/shared/common.yaml'), files.join(','));
  assert.ok(!files.includes('README.md'), 'spec.ignore applied');
  assert.ok(!files.includes('vendor/shared/skip.txt'), 'spec.ignore applies to included files too');
  assert.ok(files.includes('logo.png'), 'a spec.ignore replaces the default exclusions');
  assert.equal(o.status?.observedIgnore, '*.md\n/vendor/shared/skip.txt\n');
});

test('bad input: clear Ready=False, Warning event, previous artifact kept, no credential leaks', async () => {
  const c = cluster.get().client;
  // wrong password, on an object that already has an artifact
  await apply('flaky-auth', { url: http.url('app'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' } });
  const good = await waitReady('flaky-auth');
  await secret('wrong-auth', { username: 'flux', password: `${CANARY}-wrong` });
  await apply('flaky-auth', { url: http.url('app'), ref: { branch: 'main' }, secretRef: { name: 'wrong-auth' } });
  const failed = await waitFailed('flaky-auth', (m) => /auth/i.test(m));
  assert.deepEqual(failed.status?.artifact, good.status?.artifact, 'the previous artifact stays in status');
  assert.equal((await fetch(good.status!.artifact!.url)).status, 200, 'and stays served');
  assert.equal(failed.status?.conditions?.find((x) => x.type === 'FetchFailed')?.status, 'True');

  // missing secret, missing branch, unreachable host with a timeout
  await apply('no-secret', { url: http.url('app'), secretRef: { name: 'does-not-exist' } });
  assert.match(ready(await waitFailed('no-secret'))!.message, /secret '.*\/does-not-exist' not found/);
  await apply('no-branch', { url: http.url('app'), ref: { branch: 'nope' }, secretRef: { name: 'https-auth' } });
  assert.match(ready(await waitFailed('no-branch'))!.message, /nope/);
  await apply('unreachable', { url: 'http://127.0.0.1:9/repo.git', timeout: '3s' });
  assert.ok(ready(await waitFailed('unreachable'))!.message.length > 10);

  // a repository whose files contain a symlink out of it
  await createRepo(root, 'evil', { 'ok.yaml': 'kind: ConfigMap\n', 'leak': { symlink: '/etc/passwd' } });
  await apply('evil', { url: http.url('evil'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' } });
  assert.match(ready(await waitFailed('evil'))!.message, /leak/);

  // an url that tries to smuggle an option: refused by the API schema before we see it
  await assert.rejects(
    c.apply({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'smuggle', namespace: ns }, spec: { interval: '1m', url: '--upload-pack=touch /tmp/pwned' } }, { fieldManager: 'test' }),
    /spec.url/,
  );

  // Warning events with the reason, and the canary nowhere
  const events = (await c.list('v1', 'Event', { namespace: ns })).items;
  assert.ok(events.some((e) => e['type'] === 'Warning' && (e['involvedObject'] as { name: string }).name === 'flaky-auth'));
  const repos = (await c.list('source.toolkit.fluxcd.io/v1', 'GitRepository', { namespace: ns })).items;
  const everything = JSON.stringify(events) + JSON.stringify(repos.map((r) => r['status']));
  assert.ok(!everything.includes(CANARY), 'the password never appears in status or events');
});

test('a first fetch of a branch is one connection: no ls-remote before it', async () => {
  await createRepo(root, 'first-fetch', { 'a.yaml': 'kind: ConfigMap\n' });
  http.resetRequests();
  await apply('first-fetch', { url: http.url('first-fetch'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' } });
  const o = await waitReady('first-fetch');
  assert.match(o.status!.artifact!.revision, /^main@sha1:[0-9a-f]{40}$/);
  const mine = http.requests.filter((r) => r.path.includes('/first-fetch.git/') && r.status === 200);
  // ls-remote then fetch would open two connections, each starting with an advertisement
  assert.equal(mine.filter((r) => r.command === 'advertise').length, 1, JSON.stringify(mine));
  assert.equal(mine.filter((r) => r.command === 'fetch').length, 1);
  // a missing branch still gets the ls-remote's clear message
  await apply('first-fetch-missing', { url: http.url('first-fetch'), ref: { branch: 'gone' }, secretRef: { name: 'https-auth' } });
  assert.match(ready(await waitFailed('first-fetch-missing'))!.message, /branch 'gone' not found/);
});

test('GitRepositories tracking the same commit share one checkout', async () => {
  await createRepo(root, 'shared-clone', { 'a.yaml': 'kind: ConfigMap\n' });
  await apply('clone-1', { url: http.url('shared-clone'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' } });
  const first = await waitReady('clone-1');
  http.resetRequests();
  await apply('clone-2', { url: http.url('shared-clone'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' } });
  const second = await waitReady('clone-2');
  assert.equal(second.status?.artifact?.digest, first.status?.artifact?.digest);
  assert.equal(second.status?.artifact?.revision, first.status?.artifact?.revision);
  assert.notEqual(second.status?.artifact?.path, first.status?.artifact?.path);
  // other tests' failing objects keep retrying against their own repositories: count this one's only
  assert.equal(http.requests.filter((r) => r.command === 'fetch' && r.path.includes('/shared-clone.git/')).length, 0, 'no second clone');
  assert.deepEqual(await artifactFiles(second), ['a.yaml']);
});

test('verify: SSH- and PGP-signed commits and tags are verified; a foreign or missing signature keeps the previous artifact', async () => {
  const keys = await mkdtemp(path.join(os.tmpdir(), 'signing-'));
  const gnupgHome = path.join(keys, 'gnupg');
  const gpgEnv = { ...process.env, GNUPGHOME: gnupgHome };
  try {
    for (const name of ['signer', 'stranger']) await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path.join(keys, name)]);
    await mkdir(gnupgHome, { mode: 0o700 });
    await run('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'Flotilla Signer <signer@flotilla.invalid>', 'ed25519', 'sign', 'never'], { env: gpgEnv });
    const fpr = /^fpr:+([0-9A-F]{40}):/m.exec((await run('gpg', ['--batch', '--with-colons', '--list-keys'], { env: gpgEnv })).stdout)?.[1] ?? '';
    const armored = (await run('gpg', ['--batch', '--armor', '--export', fpr], { env: gpgEnv })).stdout;
    const sshSign = { format: 'ssh' as const, key: path.join(keys, 'signer') };
    await secret('verify-keys', { 'signer.sshpub': await readFile(path.join(keys, 'signer.pub'), 'utf8'), 'signer.asc': armored });
    const verified = (o: GitRepo) => o.status?.conditions?.find((c) => c.type === 'SourceVerified');

    // an SSH-signed commit, and an SSH-signed annotated tag on it
    const commit = await createRepo(root, 'signed', { 'a.yaml': 'kind: ConfigMap\n' }, { sign: sshSign, annotatedTag: { name: 'v1.0.0', message: 'release' } });
    await apply('signed', { url: http.url('signed'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' }, verify: { mode: 'HEAD', secretRef: { name: 'verify-keys' } } });
    const head = await waitReady('signed');
    assert.equal(verified(head)?.status, 'True');
    assert.match(verified(head)!.message, new RegExp(`^verified signature of\\n\\t- commit '${commit}' with key 'SHA256:`));
    assert.equal((head.status as Record<string, unknown>)['sourceVerificationMode'], 'HEAD');
    await apply('signed-tag', { url: http.url('signed'), ref: { tag: 'v1.0.0' }, secretRef: { name: 'https-auth' }, verify: { mode: 'TagAndHEAD', secretRef: { name: 'verify-keys' } } });
    const tag = await waitReady('signed-tag');
    assert.match(verified(tag)!.message, new RegExp(`tag 'v1.0.0@sha1:${commit}' with key 'SHA256:.*\\n\\t- commit '${commit}'`));

    // a PGP-signed commit
    await createRepo(root, 'pgp-signed', { 'a.yaml': 'kind: ConfigMap\n' }, { sign: { format: 'openpgp', key: fpr, gnupgHome } });
    await apply('pgp-signed', { url: http.url('pgp-signed'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' }, verify: { mode: 'head', secretRef: { name: 'verify-keys' } } });
    assert.match(verified(await waitReady('pgp-signed'))!.message, /with key '[0-9A-F]{16,40}'/);

    // a commit signed by a key that is not listed, then an unsigned one: refused, the verified artifact stays
    const stranger = await commitFiles(root, 'signed', { 'b.yaml': 'kind: ConfigMap\n' }, { sign: { format: 'ssh', key: path.join(keys, 'stranger') } });
    await requestReconcile('signed');
    const foreign = await waitFailed('signed', (m) => m.includes(stranger));
    assert.equal(verified(foreign)?.reason, 'InvalidCommitSignature');
    assert.match(ready(foreign)!.message, new RegExp(`signature verification of commit '${stranger}' failed: it is not signed by any of the given keys`));
    assert.equal(foreign.status?.artifact?.revision, head.status?.artifact?.revision, 'the previous artifact is kept');
    const unsigned = await commitFiles(root, 'signed', { 'c.yaml': 'kind: ConfigMap\n' });
    await requestReconcile('signed');
    assert.match(ready(await waitFailed('signed', (m) => m.includes(unsigned)))!.message, /failed: it is not signed/);

    // Tag mode needs a tag reference
    await apply('tag-mode-branch', { url: http.url('signed'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' }, verify: { mode: 'Tag', secretRef: { name: 'verify-keys' } } });
    const stalled = await waitFailed('tag-mode-branch');
    assert.equal(ready(stalled)?.reason, 'InvalidVerificationMode');
    assert.equal(stalled.status?.conditions?.find((c) => c.type === 'Stalled')?.status, 'True');
  } finally {
    await run('gpgconf', ['--kill', 'gpg-agent'], { env: gpgEnv }).catch(() => undefined);
    await rm(keys, { recursive: true, force: true });
  }
});

test('deleting a GitRepository removes its artifacts', async () => {
  await apply('doomed', { url: http.url('app'), ref: { branch: 'main' }, secretRef: { name: 'https-auth' } });
  const o = await waitReady('doomed');
  const dir = path.join(op.storagePath, 'gitrepository', ns, 'doomed');
  assert.ok((await readdir(dir)).length >= 1);
  await cluster.get().client.delete(ref('doomed'));
  await eventually(async () => (await cluster.get().client.get(ref('doomed'))) === undefined, 15_000, 'finalizer released');
  assert.equal(await readdir(dir).catch(() => 'gone'), 'gone');
  assert.equal((await fetch(o.status!.artifact!.url)).status, 404);
});

test('a change to a referenced Secret requeues at once (not after the backoff)', async () => {
  const c = cluster.get();
  const ns2 = await c.namespace('gitrepo-watch');
  // a 5-minute backoff: only the Secret watch can explain a quick recovery
  const op2 = await startTestOperator(c.kubeconfigPath, ns2, { minRetryDelay: '5m', maxRetryDelay: '10m' });
  try {
    const ref2 = { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', namespace: ns2, name: 'late-secret' };
    await c.client.apply(
      { apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'GitRepository', metadata: { name: 'late-secret', namespace: ns2 }, spec: { interval: '1h', url: http.url('app'), ref: { branch: 'main' }, secretRef: { name: 'creds' } } },
      { fieldManager: 'test' },
    );
    await eventually(async () => ready(await c.client.get<GitRepo>(ref2))?.status === 'False', 20_000, 'missing secret reported');
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = Date.now();
    await c.client.apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: ns2 }, stringData: { username: 'flux', password: CANARY } }, { fieldManager: 'test' });
    await eventually(async () => ready(await c.client.get<GitRepo>(ref2))?.status === 'True', 20_000, 'Ready after the Secret appeared');
    assert.ok(Date.now() - t0 < 20_000);
  } finally {
    await op2.stop();
  }
});
