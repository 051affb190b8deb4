import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseListenAddress, startArtifactServer, type ArtifactServer } from './server.ts';
import { ArtifactStore, type Artifact } from './store.ts';

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw request: the path goes on the wire exactly as given, without URL normalisation. */
function request(server: ArtifactServer, rawPath: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, path: rawPath, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function setup(t: { after: (fn: () => Promise<void>) => void }): Promise<{ server: ArtifactServer; artifact: Artifact; storage: string; work: string }> {
  const work = await mkdtemp(path.join(tmpdir(), 'flotilla-server-'));
  const storage = path.join(work, 'storage');
  const src = path.join(work, 'src');
  await mkdir(src, { recursive: true });
  await writeFile(path.join(src, 'app.yaml'), 'kind: ConfigMap\n');
  await writeFile(path.join(work, 'secret.txt'), 'do not serve');
  const store = new ArtifactStore({ storagePath: storage, advertisedBaseUrl: 'http://unused' });
  const artifact = await store.put({ kind: 'GitRepository', namespace: 'flux-system', name: 'podinfo', revision: 'r', sourceDir: src });
  const running = await startArtifactServer({ storagePath: storage, addr: '127.0.0.1:0' });
  t.after(async () => {
    await running.close();
    await rm(work, { recursive: true, force: true });
  });
  return { server: running, artifact, storage, work };
}

test('GET serves an artifact with its type, length and ETag; fetch by URL works', async (t) => {
  const { server, artifact, storage } = await setup(t);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  const res = await request(server, `/${artifact.path}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'application/gzip');
  assert.equal(res.headers['content-length'], String(artifact.size));
  assert.deepEqual(res.body, await readFile(path.join(storage, artifact.path)));
  const etag = res.headers.etag;
  assert.ok(etag !== undefined && etag.startsWith('"'));

  const viaFetch = await fetch(`${server.url}/${artifact.path}`);
  assert.equal(viaFetch.status, 200);
  assert.equal(Buffer.from(await viaFetch.arrayBuffer()).length, artifact.size);

  const notModified = await request(server, `/${artifact.path}`, { headers: { 'If-None-Match': `"other", ${etag}` } });
  assert.equal(notModified.status, 304);
  assert.equal(notModified.body.length, 0);
  assert.equal((await request(server, `/${artifact.path}`, { headers: { 'If-None-Match': '"stale"' } })).status, 200);
});

test('HEAD answers headers only', async (t) => {
  const { server, artifact } = await setup(t);
  const res = await request(server, `/${artifact.path}`, { method: 'HEAD' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-length'], String(artifact.size));
  assert.equal(res.body.length, 0);
});

test('other methods are not allowed', async (t) => {
  const { server, artifact } = await setup(t);
  for (const method of ['POST', 'PUT', 'DELETE']) {
    const res = await request(server, `/${artifact.path}`, { method });
    assert.equal(res.status, 405, method);
    assert.equal(res.headers.allow, 'GET, HEAD');
  }
});

test('directories are not listed and unknown paths are 404', async (t) => {
  const { server, artifact } = await setup(t);
  const dir = path.posix.dirname(artifact.path);
  for (const p of ['/', '/gitrepository', '/gitrepository/', `/${dir}`, `/${dir}/`, `/${dir}/missing.tar.gz`, `/${artifact.path}/extra`, `/${artifact.path}?x=1/../../`]) {
    const res = await request(server, p);
    if (p.startsWith(`/${artifact.path}?`)) {
      assert.equal(res.status, 200, 'a query string is ignored');
      continue;
    }
    assert.equal(res.status, 404, p);
    assert.ok(!res.body.toString().includes(path.posix.basename(artifact.path)), `no listing for ${p}`);
  }
});

test('no path escapes the storage root, encoded or not', async (t) => {
  const { server, artifact, storage } = await setup(t);
  // A symlink inside the storage that points outside it.
  await symlink(path.join(storage, '..', 'secret.txt'), path.join(storage, path.posix.dirname(artifact.path), 'leak.tar.gz'));
  const attempts = [
    '/../secret.txt',
    '/gitrepository/../../secret.txt',
    '/gitrepository/flux-system/podinfo/../../../../secret.txt',
    '/%2e%2e/secret.txt',
    '/gitrepository/%2e%2e/%2e%2e/%2e%2e/secret.txt',
    '/gitrepository/flux-system/podinfo/%2e%2e%2f%2e%2e%2f%2e%2e%2f..%2fsecret.txt',
    '/gitrepository/flux-system/podinfo/..%5c..%5csecret.txt',
    '/gitrepository/flux-system/%2e%2e/%2e%2e%2fsecret.txt',
    '/%2fetc/passwd/x/y',
    '/gitrepository/flux-system/podinfo/%00',
    '/gitrepository/flux-system/podinfo/%E0%A4%A',
    `/${path.posix.dirname(artifact.path)}/leak.tar.gz`,
  ];
  for (const p of attempts) {
    const res = await request(server, p);
    assert.equal(res.status, 404, p);
    assert.ok(!res.body.toString().includes('do not serve'), p);
  }
});

test('temp files of an in-progress put are not served', async (t) => {
  const { server, artifact, storage } = await setup(t);
  const dir = path.posix.dirname(artifact.path);
  await writeFile(path.join(storage, dir, '.tmp-abc.tar.gz'), 'partial');
  assert.equal((await request(server, `/${dir}/.tmp-abc.tar.gz`)).status, 404);
});

test('listen addresses are parsed like Go host:port strings', () => {
  assert.deepEqual(parseListenAddress(':9090'), { host: '', port: 9090 });
  assert.deepEqual(parseListenAddress('0.0.0.0:9090'), { host: '0.0.0.0', port: 9090 });
  assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListenAddress('[::1]:8080'), { host: '::1', port: 8080 });
  assert.deepEqual(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
  for (const bad of ['9090', 'host:', ':99999', '::1:80', 'a:b']) {
    assert.throws(() => parseListenAddress(bad), RangeError, bad);
  }
});
