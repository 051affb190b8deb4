import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { OciError, OciSession, type OciConnection } from './client.ts';

/** A scripted registry on a loopback port: each test installs its own handler. */
let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_q, s) => void s.writeHead(404).end();
const seen: Array<{ method: string; url: string; authorization?: string }> = [];
let server: http.Server;
let host: string;
let dir: string;

before(async () => {
  server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  dir = await mkdtemp(path.join(os.tmpdir(), 'oci-client-'));
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

function session(over: Partial<OciConnection> = {}): OciSession {
  seen.length = 0;
  return new OciSession({ name: { registry: host, repository: 'org/app' }, insecure: true, timeoutMs: 2_000, ...over });
}

const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function rejectsWith(p: Promise<unknown>, failure: OciError['failure'], re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof OciError, `an OciError, got ${String(e)}`);
    assert.equal(e.failure, failure, e.message);
    assert.match(e.message, re);
    return true;
  });
}

test('tags follow Link pagination', async () => {
  handler = (req, res) => {
    const u = new URL(req.url ?? '', 'http://x');
    if (u.searchParams.get('last') === 'b') return void res.writeHead(200).end(JSON.stringify({ tags: ['c'] }));
    res.writeHead(200, { Link: '</v2/org/app/tags/list?n=2&last=b>; rel="next"' }).end(JSON.stringify({ tags: ['a', 'b'] }));
  };
  assert.deepEqual(await session().tags(), ['a', 'b', 'c']);
  assert.equal(seen.length, 2);
});

test('a Basic challenge is answered with the credentials; a Bearer one through the token realm', async () => {
  handler = (req, res) => {
    if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) return void res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="r"' }).end();
    res.writeHead(200).end(JSON.stringify({ tags: ['v1'] }));
  };
  assert.deepEqual(await session({ credentials: { username: 'u', password: 'p' } }).tags(), ['v1']);
  await rejectsWith(session().tags(), 'authentication', /refused anonymous access \(HTTP 401\)/);

  handler = (req, res) => {
    const u = new URL(req.url ?? '', 'http://x');
    if (u.pathname === '/token') {
      assert.equal(u.searchParams.get('service'), 'reg');
      assert.equal(u.searchParams.get('scope'), 'repository:org/app:pull');
      if (req.headers.authorization !== `Basic ${Buffer.from('u:s3cret').toString('base64')}`) return void res.writeHead(401).end();
      return void res.writeHead(200).end(JSON.stringify({ access_token: 'tok' }));
    }
    if (req.headers.authorization !== 'Bearer tok') {
      return void res.writeHead(401, { 'WWW-Authenticate': `Bearer realm="http://${host}/token",service="reg",scope="repository:org/app:pull"` }).end();
    }
    res.writeHead(200).end(JSON.stringify({ tags: ['v2'] }));
  };
  const s = session({ credentials: { username: 'u', password: 's3cret' } });
  assert.deepEqual(await s.tags(), ['v2']);
  assert.deepEqual(await s.tags(), ['v2']);
  assert.equal(seen.filter((r) => r.url.startsWith('/token')).length, 1, 'the token is kept for the session');
  await assert.rejects(session({ credentials: { username: 'u', password: 'wr0ng' } }).tags(), (e: unknown) => {
    assert.ok(e instanceof OciError && e.failure === 'authentication');
    assert.match(e.message, /token service of .* refused the credentials/);
    assert.ok(!e.message.includes('wr0ng'));
    return true;
  });
});

test('resolve: Docker-Content-Digest from a HEAD, else the hash of the manifest; a digest is checked', async () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] }));
  let header = true;
  handler = (req, res) => {
    assert.match(String(req.headers.accept), /application\/vnd\.oci\.image\.manifest\.v1\+json/);
    assert.match(String(req.headers.accept), /application\/vnd\.docker\.distribution\.manifest\.v2\+json/);
    res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', ...(header ? { 'Docker-Content-Digest': sha(manifest) } : {}) });
    res.end(req.method === 'HEAD' ? undefined : manifest);
  };
  assert.equal(await session().resolve('v1'), sha(manifest));
  assert.deepEqual(seen.map((r) => r.method), ['HEAD']);
  header = false;
  assert.equal(await session().resolve('v1'), sha(manifest));
  assert.deepEqual(seen.map((r) => r.method), ['HEAD', 'GET']);
  await rejectsWith(session().manifest(sha('other')), 'pull', /has digest/);

  handler = (_req, res) => void res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }).end(JSON.stringify({ mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
  await rejectsWith(session().manifest('v1'), 'pull', /not an image manifest/);
  handler = (_req, res) => void res.writeHead(404).end(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
  await rejectsWith(session().resolve('nope'), 'notFound', /'nope' not found/);
});

test('blobs: digest and size are checked', async () => {
  const data = Buffer.from('layer bytes');
  handler = (_req, res) => void res.writeHead(200).end(data);
  const file = path.join(dir, 'blob');
  await session().blobToFile({ mediaType: 'x', digest: sha(data), size: data.length }, file, 1024);
  assert.deepEqual(await readFile(file), data);
  await rejectsWith(session().blobToFile({ mediaType: 'x', digest: sha('else'), size: data.length }, file, 1024), 'pull', /downloaded with digest/);
  await rejectsWith(session().blobToFile({ mediaType: 'x', digest: sha(data), size: 5 }, file, 5), 'tooLarge', /larger than the 5 bytes/);
  await rejectsWith(session().blobToFile({ mediaType: 'x', digest: sha(data), size: 100 }, file, 5), 'tooLarge', /100 bytes/);
});

test('a redirect to another host does not carry the credentials', async () => {
  const other = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: `other${req.url ?? ''}`, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    res.writeHead(200).end('blob');
  });
  await new Promise<void>((r) => other.listen(0, 'localhost', r));
  try {
    handler = (req, res) => {
      if (!req.headers.authorization) return void res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="r"' }).end();
      res.writeHead(307, { Location: `http://localhost:${(other.address() as { port: number }).port}/storage/blob` }).end();
    };
    await session({ credentials: { username: 'u', password: 'p' } }).blobToFile({ mediaType: 'x', digest: sha('blob'), size: 4 }, path.join(dir, 'r'), 1024);
    const last = seen.at(-1);
    assert.equal(last?.url, 'other/storage/blob');
    assert.equal(last?.authorization, undefined);
  } finally {
    await new Promise((r) => other.close(r));
  }
});

test('a registry that does not answer, or stops half-way, is an OciError within the timeout', async () => {
  handler = () => undefined;
  const t0 = Date.now();
  await rejectsWith(session({ timeoutMs: 300 }).tags(), 'pull', /did not answer within 300 ms/);
  assert.ok(Date.now() - t0 < 2_000);

  const data = Buffer.alloc(4096, 1);
  handler = (_req, res) => {
    res.writeHead(200, { 'Content-Length': String(data.length) });
    res.write(data.subarray(0, 100));
  };
  await rejectsWith(session({ timeoutMs: 300 }).blobToFile({ mediaType: 'x', digest: sha(data), size: data.length }, path.join(dir, 'slow'), 1 << 20), 'pull', /did not answer within 300 ms/);

  handler = (req, res) => {
    res.writeHead(200, { 'Content-Length': String(data.length) });
    res.write(data.subarray(0, 100), () => req.socket.destroy());
  };
  await rejectsWith(session().blobToFile({ mediaType: 'x', digest: sha(data), size: data.length }, path.join(dir, 'cut'), 1 << 20), 'pull', /transfer from .* broke off/);

  handler = (_req, res) => void res.writeHead(200).end('{not json');
  await rejectsWith(session().tags(), 'pull', /list tags: .* not JSON/);

  await rejectsWith(session({ name: { registry: '127.0.0.1:9', repository: 'a' } }).tags(), 'pull', /cannot reach 127\.0\.0\.1:9/);
});

test('an abort signal ends a request at once; a deadline says so', async () => {
  handler = () => undefined;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  await rejectsWith(session({ timeoutMs: 10_000, signal: ac.signal }).tags(), 'pull', /cannot reach/);

  // a body that trickles: never silent for long, but over the deadline
  const data = Buffer.alloc(64, 1);
  handler = (_req, res) => {
    res.writeHead(200, { 'Content-Length': String(data.length) });
    let i = 0;
    const t = setInterval(() => (i < data.length && !res.destroyed ? res.write(data.subarray(i, ++i)) : clearInterval(t)), 50);
    res.on('close', () => clearInterval(t));
  };
  const t0 = Date.now();
  await rejectsWith(
    session({ timeoutMs: 400, signal: AbortSignal.timeout(400) }).blobToFile({ mediaType: 'x', digest: sha(data), size: data.length }, path.join(dir, 'trickle'), 1 << 20),
    'pull',
    /did not finish within the timeout of 400 ms/,
  );
  assert.ok(Date.now() - t0 < 1_500);
  handler = () => undefined;
  await rejectsWith(session({ timeoutMs: 200, signal: AbortSignal.timeout(200) }).resolve('v1'), 'pull', /did not (finish|answer) within/);
});
