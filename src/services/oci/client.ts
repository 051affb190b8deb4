/**
 * A small OCI distribution client: tags, manifests and blobs, anonymous or with basic
 * credentials, through the registry's Bearer token service when it has one. Plain HTTP
 * only when asked (`insecure`); a custom CA and a client certificate for HTTPS.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { apiHost, parseChallenge, type BasicCredentials, type OciRepositoryName } from './reference.ts';

export const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface OciManifest {
  mediaType?: string;
  config?: OciDescriptor;
  layers?: OciDescriptor[];
  annotations?: Record<string, string>;
}

export interface OciConnection {
  name: OciRepositoryName;
  insecure: boolean;
  credentials?: BasicCredentials | undefined;
  tls?: { ca?: string; cert?: string; key?: string } | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export type OciFailure = 'authentication' | 'notFound' | 'pull' | 'tooLarge';

export class OciError extends Error {
  constructor(
    readonly failure: OciFailure,
    message: string,
  ) {
    super(message);
  }
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
  /** Why the exchange was cut (the idle timeout), once it was. */
  readonly cut: OciError | undefined;
}

const MAX_MANIFEST_BYTES = 4 << 20;
const MAX_REDIRECTS = 5;

/** One registry conversation: remembers the token it was given for the repository. */
export class OciSession {
  private authorization: string | undefined;

  constructor(private readonly c: OciConnection) {}

  private base(): string {
    return `${this.c.insecure ? 'http' : 'https'}://${apiHost(this.c.name.registry)}/v2/${this.c.name.repository}`;
  }

  /** Every tag of the repository (following `Link` pagination). */
  async tags(): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = `${this.base()}/tags/list?n=1000`;
    for (let page = 0; next && page < 100; page++) {
      const res = await this.send('GET', next, {});
      if (res.status === 404) {
        await drain(res.body);
        throw new OciError('notFound', `repository '${this.c.name.repository}' not found on ${this.c.name.registry}`);
      }
      await this.expectOk(res, 'list tags');
      const doc = await this.json<{ tags?: string[] | null }>(res, MAX_MANIFEST_BYTES, 'list tags');
      out.push(...(doc.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(String(res.headers['link'] ?? ''))?.[1];
      next = link ? new URL(link, next).toString() : undefined;
    }
    return out;
  }

  /** The digest `reference` (a tag or digest) resolves to, by HEAD: the cost of a poll. */
  async resolve(reference: string): Promise<string> {
    const res = await this.send('HEAD', `${this.base()}/manifests/${reference}`, { Accept: MANIFEST_TYPES.join(', ') });
    await drain(res.body);
    if (res.status === 404) throw new OciError('notFound', `'${reference}' not found in ${this.c.name.registry}/${this.c.name.repository}`);
    await this.expectOk(res, `resolve '${reference}'`);
    const digest = String(res.headers['docker-content-digest'] ?? '');
    if (/^sha256:[0-9a-f]{64}$/.test(digest)) return digest;
    return (await this.manifest(reference)).digest;
  }

  /** The manifest `reference` points to, and its digest (computed, and checked when a digest was asked for). */
  async manifest(reference: string): Promise<{ digest: string; manifest: OciManifest }> {
    const res = await this.send('GET', `${this.base()}/manifests/${reference}`, { Accept: MANIFEST_TYPES.join(', ') });
    if (res.status === 404) {
      await drain(res.body);
      throw new OciError('notFound', `'${reference}' not found in ${this.c.name.registry}/${this.c.name.repository}`);
    }
    await this.expectOk(res, `get manifest '${reference}'`);
    const bytes = await this.read(res, MAX_MANIFEST_BYTES);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest) throw new OciError('pull', `the manifest served for ${reference} has digest ${digest}`);
    let manifest: OciManifest;
    try {
      manifest = JSON.parse(bytes.toString('utf8')) as OciManifest;
    } catch {
      throw new OciError('pull', `the manifest of '${reference}' is not JSON`);
    }
    const type = manifest.mediaType ?? String(res.headers['content-type'] ?? '');
    if (type && !MANIFEST_TYPES.includes(type.split(';')[0] ?? '')) {
      throw new OciError('pull', `'${reference}' is a ${type}, not an image manifest (an index of several platforms is not an artifact)`);
    }
    return { digest, manifest };
  }

  /** Downloads a blob to `file`, checking its digest and size. */
  async blobToFile(layer: OciDescriptor, file: string, maxBytes: number): Promise<void> {
    if (layer.size > maxBytes) throw new OciError('tooLarge', `layer ${layer.digest} is ${layer.size} bytes, more than the ${maxBytes} allowed`);
    const res = await this.send('GET', `${this.base()}/blobs/${layer.digest}`, {});
    await this.expectOk(res, `download layer ${layer.digest}`);
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > maxBytes) return cb(new OciError('tooLarge', `layer ${layer.digest} is larger than the ${maxBytes} bytes allowed`));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(res.body, count, createWriteStream(file, { mode: 0o600 }));
    } catch (e) {
      throw this.transferFailure(res, e);
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== layer.digest) throw new OciError('pull', `layer ${layer.digest} downloaded with digest ${got}`);
  }

  /** The body, at most `max` bytes; a broken transfer is an OciError. */
  private async read(res: Response, max: number): Promise<Buffer> {
    try {
      return await readLimited(res.body, max);
    } catch (e) {
      throw this.transferFailure(res, e);
    }
  }

  private async json<T>(res: Response, max: number, what: string): Promise<T> {
    const bytes = await this.read(res, max);
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch {
      throw new OciError('pull', `${what}: ${this.c.name.registry} answered with something that is not JSON`);
    }
  }

  /**
   * A body that stopped half-way (the idle timeout, a reset, an abort) as an OciError; an
   * error of our own (too large) or of the local file system passes as it is.
   */
  private transferFailure(res: Response, e: unknown): unknown {
    if (e instanceof OciError) return e;
    if (res.cut) return res.cut;
    const late = this.overtime();
    if (late) return late;
    if (res.body.errored === e || this.c.signal?.aborted || (e instanceof Error && e.name === 'AbortError')) {
      return new OciError('pull', `the transfer from ${this.c.name.registry} broke off: ${e instanceof Error ? e.message : String(e)}`);
    }
    return e;
  }

  /** The caller's deadline (an `AbortSignal.timeout`) has passed. */
  private overtime(): OciError | undefined {
    const reason: unknown = this.c.signal?.aborted ? this.c.signal.reason : undefined;
    if (reason instanceof Error && reason.name === 'TimeoutError') {
      return new OciError('pull', `the exchange with ${this.c.name.registry} did not finish within the timeout of ${this.c.timeoutMs} ms`);
    }
    return undefined;
  }

  private async expectOk(res: Response, what: string): Promise<void> {
    if (res.status >= 200 && res.status < 300) return;
    const text = (await readLimited(res.body, 4096).catch(() => Buffer.alloc(0))).toString('utf8');
    const detail = registryMessage(text);
    if (res.status === 401 || res.status === 403) {
      throw new OciError('authentication', `${what}: ${this.c.name.registry} refused ${this.c.credentials ? 'the credentials' : 'anonymous access'} (HTTP ${res.status}${detail ? `: ${detail}` : ''})`);
    }
    throw new OciError('pull', `${what}: ${this.c.name.registry} answered HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
  }

  /** A request with the session's authorization; on a 401, log in as the challenge says and retry once. */
  private async send(method: string, url: string, headers: Record<string, string>): Promise<Response> {
    const res = await this.raw(method, url, { ...headers, ...(this.authorization ? { Authorization: this.authorization } : {}) });
    if (res.status !== 401) return res;
    const challenge = parseChallenge(String(res.headers['www-authenticate'] ?? ''));
    await drain(res.body);
    const before = this.authorization;
    if (challenge?.scheme === 'bearer' && challenge.params['realm']) {
      this.authorization = `Bearer ${await this.token(challenge.params)}`;
    } else if (this.c.credentials) {
      this.authorization = basic(this.c.credentials);
    }
    if (this.authorization === before) return this.raw(method, url, headers);
    return this.raw(method, url, { ...headers, Authorization: this.authorization ?? '' });
  }

  private async token(params: Record<string, string>): Promise<string> {
    const realm = new URL(params['realm'] ?? '');
    if (params['service']) realm.searchParams.set('service', params['service']);
    realm.searchParams.set('scope', params['scope'] ?? `repository:${this.c.name.repository}:pull`);
    const res = await this.raw('GET', realm.toString(), this.c.credentials ? { Authorization: basic(this.c.credentials) } : {});
    if (res.status !== 200) {
      await drain(res.body);
      throw new OciError('authentication', `the token service of ${this.c.name.registry} refused ${this.c.credentials ? 'the credentials' : 'anonymous access'} (HTTP ${res.status})`);
    }
    const doc = await this.json<{ token?: string; access_token?: string }>(res, 1 << 20, `log in to ${this.c.name.registry}`);
    const token = doc.token ?? doc.access_token;
    if (!token) throw new OciError('authentication', `the token service of ${this.c.name.registry} returned no token`);
    return token;
  }

  /** One HTTP exchange, following redirects (credentials only go back to the same host). */
  private async raw(method: string, url: string, headers: Record<string, string>, hops = 0): Promise<Response> {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    let cut: OciError | undefined;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = lib.request(
        u,
        {
          method,
          headers: { 'User-Agent': 'flotilla', ...headers },
          timeout: this.c.timeoutMs,
          ...(this.c.signal ? { signal: this.c.signal } : {}),
          ...(u.protocol === 'https:' ? { ...(this.c.tls?.ca ? { ca: this.c.tls.ca } : {}), ...(this.c.tls?.cert ? { cert: this.c.tls.cert, key: this.c.tls.key } : {}) } : {}),
        },
        resolve,
      );
      // the idle timeout also covers a body that stops half-way, after `resolve`
      req.on('timeout', () => req.destroy((cut = new OciError('pull', `${this.c.name.registry} did not answer within ${this.c.timeoutMs} ms`))));
      req.on('error', (e) => reject(e instanceof OciError ? e : (this.overtime() ?? new OciError('pull', `cannot reach ${this.c.name.registry}: ${e.message}`))));
      req.end();
    });
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location && hops < MAX_REDIRECTS) {
      await drain(res);
      const next = new URL(location, u);
      const same = next.host === u.host;
      const { Authorization: _dropped, ...rest } = headers;
      return this.raw(method, next.toString(), same ? headers : rest, hops + 1);
    }
    return {
      status,
      headers: res.headers,
      body: res,
      get cut() {
        return cut;
      },
    };
  }
}

function basic(c: BasicCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

async function drain(body: http.IncomingMessage): Promise<void> {
  body.resume();
  await new Promise<void>((resolve) => {
    if (body.readableEnded) return resolve();
    body.once('end', resolve).once('error', () => resolve()).once('close', resolve);
  });
}

async function readLimited(body: http.IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of body) {
    size += (c as Buffer).length;
    if (size > max) {
      body.destroy();
      throw new OciError('tooLarge', `the registry's answer is larger than ${max} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The `errors[0].message` of a registry error body, if any. */
function registryMessage(text: string): string {
  try {
    const doc = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const e = doc.errors?.[0];
    return e ? [e.code, e.message].filter(Boolean).join(': ') : '';
  } catch {
    return '';
  }
}
