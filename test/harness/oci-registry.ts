/**
 * A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a free
 * loopback port with its storage in a temp dir, and, when credentials are asked for, a
 * small Node front that does what hosted registries do: answer 401 with a Bearer
 * challenge, hand out tokens for basic credentials at its token realm, and pass the
 * authorized requests on to the registry. With `tls`, that front speaks HTTPS with a
 * certificate from a fresh test CA (made with `openssl`), and can require a client
 * certificate. `push` uploads a Flux-style artifact.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../src/cli/dev/control-plane.ts';

export const FLUX_LAYER = 'application/vnd.cncf.flux.content.v1.tar+gzip';
export const FLUX_CONFIG = 'application/vnd.cncf.flux.config.v1+json';

export interface OciRegistry {
  /** `127.0.0.1:<port>`: the registry (or its authenticating front). */
  readonly host: string;
  /** `oci://<host>/<repository>` */
  url(repository: string): string;
  /** Pushes layers under `tag`; returns the manifest digest. */
  push(repository: string, tag: string, layers: Array<{ mediaType?: string; data: Buffer }>, annotations?: Record<string, string>): Promise<string>;
  /** Requests seen by the front (method and path), when there is one. */
  readonly requests: Array<{ method: string; path: string; status: number }>;
  /** With `tls`: the CA's certificate, and a client certificate and key it signed. */
  readonly tls?: { ca: string; cert: string; key: string };
  close(): Promise<void>;
}

function digestOf(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function waitUp(url: string, proc: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited: ${logs()}`);
    const ok = await fetch(url).then((r) => r.status === 200, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`docker-registry did not start: ${logs()}`);
}

/** Whether the harness can make certificates (`openssl` on the PATH). */
export async function canMakeCertificates(): Promise<boolean> {
  return promisify(execFile)('openssl', ['version']).then(
    () => true,
    () => false,
  );
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all PEM. */
async function makeCertificates(dir: string): Promise<{ ca: string; serverCert: string; serverKey: string; cert: string; key: string }> {
  const run = (...args: string[]) => promisify(execFile)('openssl', args, { cwd: dir });
  const f = (n: string) => path.join(dir, n);
  await run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=flotilla test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'));
  for (const [who, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    await run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`));
    await writeFile(f(`${who}.ext`), ext);
    await run('x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f(`${who}.ext`), '-out', f(`${who}.crt`));
  }
  const read = (n: string) => readFile(f(n), 'utf8');
  return { ca: await read('ca.crt'), serverCert: await read('server.crt'), serverKey: await read('server.key'), cert: await read('client.crt'), key: await read('client.key') };
}

export async function startOciRegistry(
  opts: { username?: string; password?: string; binary?: string; tls?: { clientAuth?: boolean } } = {},
): Promise<OciRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'oci-registry-'));
  const port = await freePort();
  await writeFile(
    path.join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  let output = '';
  const proc = spawn(opts.binary ?? '/usr/bin/docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const backend = `http://127.0.0.1:${port}`;
  await waitUp(`${backend}/v2/`, proc, () => output);

  const requests: OciRegistry['requests'] = [];
  let front: http.Server | undefined;
  let host = `127.0.0.1:${port}`;
  const tokens = new Set<string>();
  const certs = opts.tls ? await makeCertificates(dir) : undefined;
  if (opts.username !== undefined || certs) {
    const expected = opts.username !== undefined ? `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}` : undefined;
    const scheme = certs ? 'https' : 'http';
    const serve = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const url = new URL(req.url ?? '/', 'http://x');
      const done = (status: number): void => void requests.push({ method: req.method ?? '', path: url.pathname, status });
      if (url.pathname === '/token') {
        if (req.headers.authorization !== expected) {
          res.writeHead(401).end();
          return done(401);
        }
        const token = randomBytes(16).toString('hex');
        tokens.add(token);
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ token }));
        return done(200);
      }
      const auth = req.headers.authorization ?? '';
      if (expected && (!auth.startsWith('Bearer ') || !tokens.has(auth.slice(7)))) {
        const repo = /^\/v2\/(.+)\/(?:manifests|blobs|tags)\//.exec(url.pathname)?.[1] ?? '';
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="${scheme}://${host}/token",service="test-registry",scope="repository:${repo}:pull,push"`,
          'Content-Type': 'application/json',
        }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return done(401);
      }
      const headers = { ...req.headers };
      delete headers.authorization;
      const up = http.request(`${backend}${req.url ?? '/'}`, { method: req.method, headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
        done(r.statusCode ?? 502);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    };
    front = certs
      ? https.createServer({ cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requestCert: opts.tls?.clientAuth === true, rejectUnauthorized: opts.tls?.clientAuth === true }, serve)
      : http.createServer(serve);
    await new Promise<void>((resolve) => front?.listen(0, '127.0.0.1', resolve));
    host = `127.0.0.1:${(front.address() as { port: number }).port}`;
  }

  // the harness pushes straight to the registry, never through the front
  const upload = async (repository: string, data: Buffer): Promise<string> => {
    const digest = digestOf(data);
    const start = await fetch(`${backend}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
    if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location') ?? '', backend);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, { method: 'PUT', body: data, headers: { 'Content-Type': 'application/octet-stream' } });
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
    return digest;
  };

  return {
    host,
    requests,
    ...(certs ? { tls: { ca: certs.ca, cert: certs.cert, key: certs.key } } : {}),
    url: (repository) => `oci://${host}/${repository}`,
    async push(repository, tag, layers, annotations = {}) {
      const config = Buffer.from('{}');
      const configDigest = await upload(repository, config);
      const descriptors = [];
      for (const l of layers) descriptors.push({ mediaType: l.mediaType ?? FLUX_LAYER, digest: await upload(repository, l.data), size: l.data.length });
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: FLUX_CONFIG, digest: configDigest, size: config.length },
          layers: descriptors,
          annotations,
        }),
      );
      const res = await fetch(`${backend}/v2/${repository}/manifests/${tag}`, {
        method: 'PUT',
        body: manifest,
        headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' },
      });
      if (res.status !== 201) throw new Error(`manifest push: HTTP ${res.status} ${await res.text()}`);
      return digestOf(manifest);
    },
    async close() {
      await new Promise<void>((resolve) => (front ? front.close(() => resolve()) : resolve()));
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
