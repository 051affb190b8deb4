import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { StallingError, WaitingError } from '../../runtime/errors.ts';
import { ArtifactStore, DEFAULT_ARTIFACT_RETENTION_RECORDS, DEFAULT_ARTIFACT_RETENTION_TTL_MS } from './store.ts';

const BASE_URL = 'http://source-controller.flux-system.svc.cluster.local.';

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<{ work: string; storage: string; src: string }> {
  const work = await mkdtemp(path.join(tmpdir(), 'flotilla-store-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const storage = path.join(work, 'storage');
  const src = path.join(work, 'src');
  await mkdir(path.join(src, 'deploy'), { recursive: true });
  await writeFile(path.join(src, 'deploy', 'app.yaml'), 'kind: ConfigMap\n');
  return { work, storage, src };
}

const owner = { kind: 'GitRepository', namespace: 'flux-system', name: 'podinfo' } as const;

test('put stores a content-addressed tarball with the Flux layout and status fields', async (t) => {
  const { storage, src } = await setup(t);
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: `${BASE_URL}/`, now: () => new Date('2026-03-04T05:06:07.891Z') });
  const artifact = await store.put({ ...owner, revision: 'main@sha1:0123456789abcdef0123456789abcdef01234567', sourceDir: src });
  const hex = artifact.digest.slice('sha256:'.length);
  assert.match(hex, /^[0-9a-f]{64}$/);
  assert.equal(artifact.path, `gitrepository/flux-system/podinfo/${hex}.tar.gz`);
  assert.equal(artifact.url, `${BASE_URL}/gitrepository/flux-system/podinfo/${hex}.tar.gz`);
  assert.equal(artifact.revision, 'main@sha1:0123456789abcdef0123456789abcdef01234567');
  assert.equal(artifact.lastUpdateTime, '2026-03-04T05:06:07Z');
  const bytes = await readFile(path.join(storage, artifact.path));
  assert.equal(artifact.size, bytes.length);
  assert.equal(artifact.digest, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
  assert.equal(await store.has(artifact), true);
  assert.equal(await store.verify(artifact), true);
  assert.equal(store.localPath(artifact.path), path.join(storage, artifact.path));
});

test('putting the same content again is a no-op that returns the same path', async (t) => {
  const { storage, src } = await setup(t);
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL });
  const first = await store.put({ ...owner, revision: 'main@sha1:aaaa', sourceDir: src });
  const firstIno = (await stat(store.localPath(first.path))).ino;
  const second = await store.put({ ...owner, revision: 'main@sha1:bbbb', sourceDir: src });
  assert.equal(second.path, first.path);
  assert.equal(second.digest, first.digest);
  assert.equal(second.revision, 'main@sha1:bbbb');
  assert.equal((await stat(store.localPath(second.path))).ino, firstIno, 'the stored file was not rewritten');
  assert.deepEqual(await readdir(path.dirname(store.localPath(first.path))), [path.basename(first.path)], 'no temp files are left');
});

test('a failed put leaves no file behind', async (t) => {
  const { storage, src } = await setup(t);
  await symlink('/etc/passwd', path.join(src, 'deploy', 'passwd'));
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL });
  await assert.rejects(store.put({ ...owner, revision: 'r', sourceDir: src }), StallingError);
  assert.deepEqual(await readdir(path.join(storage, 'gitrepository/flux-system/podinfo')), []);
});

test('verify notices a changed file; has notices a missing one', async (t) => {
  const { storage, src } = await setup(t);
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL });
  const artifact = await store.put({ ...owner, revision: 'r', sourceDir: src });
  await writeFile(store.localPath(artifact.path), 'tampered');
  assert.equal(await store.verify(artifact), false);
  await rm(store.localPath(artifact.path));
  assert.equal(await store.has(artifact), false);
  assert.equal(await store.verify(artifact), false);
});

test('putFile stores a file as it is, under its digest and extension', async (t) => {
  const { work, storage } = await setup(t);
  const chart = path.join(work, 'podinfo-6.0.3.tgz');
  await writeFile(chart, 'not really a chart');
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL });
  const artifact = await store.putFile({ kind: 'HelmChart', namespace: 'default', name: 'default-podinfo', revision: '6.0.3', sourceFile: chart, extension: '.tgz' });
  const hex = createHash('sha256').update('not really a chart').digest('hex');
  assert.equal(artifact.path, `helmchart/default/default-podinfo/${hex}.tgz`);
  assert.equal(artifact.size, 18);
  assert.equal(await readFile(store.localPath(artifact.path), 'utf8'), 'not really a chart');
  await assert.rejects(store.putFile({ ...owner, revision: 'r', sourceFile: chart, extension: '/../x' }), RangeError);
});

test('gc keeps the kept paths and the newest files up to history', async (t) => {
  const { work, storage } = await setup(t);
  assert.equal(DEFAULT_ARTIFACT_RETENTION_RECORDS, 2);
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL });
  const stored = [];
  for (let i = 0; i < 5; i++) {
    const file = path.join(work, `f${i}`);
    await writeFile(file, `content ${i}`);
    const artifact = await store.putFile({ ...owner, revision: `r${i}`, sourceFile: file });
    const when = new Date(Date.UTC(2026, 0, 1, 0, i));
    await utimes(store.localPath(artifact.path), when, when);
    stored.push(artifact);
  }
  const [a0, a1, a2, a3, a4] = stored.map((a) => a.path) as [string, string, string, string, string];
  // The current artifact is an older one (a revert): it is kept, plus the newest other.
  const removed = await store.gc(owner.kind, owner.namespace, owner.name, [a1]);
  assert.deepEqual(removed.sort(), [a0, a2, a3].sort());
  assert.equal(await store.has({ path: a1 }), true);
  assert.equal(await store.has({ path: a4 }), true);
  assert.deepEqual(await store.gc(owner.kind, owner.namespace, owner.name, [a1]), [], 'gc is idempotent');
  assert.deepEqual(await store.gc('GitRepository', 'flux-system', 'never-stored'), []);
});

test('gc with a TTL removes old files even within history, never kept ones', async (t) => {
  const { work, storage } = await setup(t);
  assert.equal(DEFAULT_ARTIFACT_RETENTION_TTL_MS, 60_000);
  const now = new Date('2026-01-01T12:00:00Z');
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL, retention: { history: 3, ttlMs: 60_000 }, now: () => now });
  const ages = [10 * 60_000, 5 * 60_000, 30_000];
  const paths: string[] = [];
  for (const [i, age] of ages.entries()) {
    const file = path.join(work, `f${i}`);
    await writeFile(file, `c${i}`);
    const artifact = await store.putFile({ ...owner, revision: `r${i}`, sourceFile: file });
    const when = new Date(now.getTime() - age);
    await utimes(store.localPath(artifact.path), when, when);
    paths.push(artifact.path);
  }
  const objectDir = path.join(storage, 'gitrepository/flux-system/podinfo');
  const staleTemp = path.join(objectDir, '.tmp-crashed.tar.gz');
  const freshTemp = path.join(objectDir, '.tmp-in-progress.tar.gz');
  await writeFile(staleTemp, 'x');
  await writeFile(freshTemp, 'x');
  const twoHoursAgo = new Date(now.getTime() - 2 * 3600_000);
  await utimes(staleTemp, twoHoursAgo, twoHoursAgo);
  await utimes(freshTemp, now, now);
  const removed = await store.gc(owner.kind, owner.namespace, owner.name, [paths[0] as string]);
  assert.deepEqual(removed.sort(), [paths[1], 'gitrepository/flux-system/podinfo/.tmp-crashed.tar.gz'].sort());
  assert.deepEqual((await readdir(objectDir)).sort(), [path.basename(paths[0] as string), path.basename(paths[2] as string), '.tmp-in-progress.tar.gz'].sort());
});

test('remove deletes the object directory', async (t) => {
  const { storage, src } = await setup(t);
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL });
  const artifact = await store.put({ ...owner, revision: 'r', sourceDir: src });
  const other = await store.put({ ...owner, name: 'other', revision: 'r', sourceDir: src });
  await store.remove(owner.kind, owner.namespace, owner.name);
  assert.equal(await store.has(artifact), false);
  assert.deepEqual(await readdir(path.join(storage, 'gitrepository/flux-system')), ['other']);
  assert.equal(await store.has(other), true);
  await store.remove(owner.kind, owner.namespace, owner.name);
});

test('extractTo reads an artifact back in-process and verifies its digest', async (t) => {
  const { work, storage, src } = await setup(t);
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL });
  const artifact = await store.put({ ...owner, revision: 'r', sourceDir: src });
  const dest = path.join(work, 'out');
  const result = await store.extractTo(artifact, dest, { maxFiles: 10 });
  assert.equal(result.digest, artifact.digest);
  assert.equal(await readFile(path.join(dest, 'deploy/app.yaml'), 'utf8'), 'kind: ConfigMap\n');

  const chunks: Buffer[] = [];
  for await (const chunk of await store.open(artifact.path)) chunks.push(chunk as Buffer);
  assert.deepEqual(Buffer.concat(chunks), await readFile(store.localPath(artifact.path)));

  await assert.rejects(store.extractTo({ path: artifact.path, digest: `sha256:${'1'.repeat(64)}` }, path.join(work, 'out2')), /digest mismatch/);
  const missing = `gitrepository/flux-system/podinfo/${'f'.repeat(64)}.tar.gz`;
  await assert.rejects(store.open(missing), (e: unknown) => e instanceof WaitingError && e.reason === 'ArtifactFailed');
});

test('paths and names that could leave the storage are refused', async (t) => {
  const { storage, src } = await setup(t);
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL });
  for (const bad of ['../x/y/z', 'gitrepository/ns/name/../../../../etc/passwd', '/etc/passwd', 'a/b/c', 'a/b/c/d/e', 'a/b/c/.tmp-x', 'a/..b/c/d', 'a//c/d']) {
    assert.throws(() => store.localPath(bad), RangeError, bad);
  }
  for (const [kind, namespace, name] of [['Git/Repository', 'ns', 'n'], ['GitRepository', '..', 'n'], ['GitRepository', 'ns', '../n'], ['GitRepository', 'ns', 'a..b'], ['GitRepository', 'NS', 'n']] as const) {
    await assert.rejects(store.put({ kind, namespace, name, revision: 'r', sourceDir: src }), RangeError, `${kind}/${namespace}/${name}`);
  }
  assert.throws(() => new ArtifactStore({ storagePath: storage, advertisedBaseUrl: BASE_URL, retention: { history: 0 } }), RangeError);
});
