import http from 'node:http';
import https from 'node:https';
import { ApiError } from './errors.ts';
import type { ClusterAccess } from './kubeconfig.ts';
import { TokenBucket } from './ratelimit.ts';

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Abort the request (used by watches when an informer stops). */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Overrides the Accept header (metadata-only lists and watches). */
  accept?: string;
}

export interface Impersonation {
  user: string;
  groups?: string[];
}

/**
 * Raw JSON over HTTP(S) to the API server, reusing client-node's kubeconfig handling
 * (TLS material, tokens, exec plugins) but not its generated models, which drop fields
 * they do not know. One keep-alive agent per transport; requests share a QPS/burst budget.
 */
export class Transport {
  readonly server: URL;
  private readonly access: ClusterAccess;
  private agent: http.Agent | undefined;
  private readonly bucket: TokenBucket;
  private readonly impersonation: Impersonation | undefined;

  constructor(access: ClusterAccess, opts: { qps: number; burst: number; impersonate?: Impersonation; bucket?: TokenBucket }) {
    this.access = access;
    this.server = new URL(access.server);
    this.bucket = opts.bucket ?? new TokenBucket(opts.qps, opts.burst);
    this.impersonation = opts.impersonate;
  }

  /** A transport for the same cluster that acts as another identity, sharing the rate budget. */
  impersonating(who: Impersonation): Transport {
    return new Transport(this.access, { qps: 0, burst: 0, impersonate: who, bucket: this.bucket });
  }

  get impersonatedUser(): string | undefined {
    return this.impersonation?.user;
  }

  private async prepare(): Promise<{ headers: Record<string, string>; agent: http.Agent }> {
    const headers = await this.access.headers();
    if (this.impersonation) headers['Impersonate-User'] = this.impersonation.user;
    if (!this.agent) {
      const tls = this.access.tls;
      this.agent =
        this.server.protocol === 'https:'
          ? new https.Agent({
              keepAlive: true,
              maxSockets: 32,
              ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
              ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
              ...(tls.key !== undefined ? { key: tls.key } : {}),
              ...(tls.rejectUnauthorized !== undefined ? { rejectUnauthorized: tls.rejectUnauthorized } : {}),
            })
          : new http.Agent({ keepAlive: true, maxSockets: 32 });
    }
    return { headers, agent: this.agent };
  }

  private url(path: string, query?: RequestOptions['query']): URL {
    const url = new URL(this.server.href.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * A keep-alive socket the server closed while idle fails the next request with
   * ECONNRESET; Node's advice is to retry when the request went out on a reused socket.
   */
  private async open(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.openOnce(method, path, opts);
      } catch (e) {
        const reused = (e as { reusedSocket?: boolean }).reusedSocket === true;
        const code = (e as { code?: string }).code;
        if (attempt < 2 && reused && (code === 'ECONNRESET' || code === 'EPIPE')) continue;
        if (e instanceof Error && !(e instanceof ApiError)) e.message = `${method} ${path}: ${e.message}`;
        throw e;
      }
    }
  }

  private async openOnce(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    const res = await this.sendOnce(method, path, opts);
    for (const fn of requestObservers) fn(method, res.statusCode ?? 0, this.server.host);
    return res;
  }

  private async sendOnce(method: string, path: string, opts: RequestOptions): Promise<http.IncomingMessage> {
    await this.bucket.take();
    const { headers, agent } = await this.prepare();
    const url = this.url(path, opts.query);
    const payload =
      opts.body === undefined ? undefined : Buffer.from(typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body));
    const groups = this.impersonation?.groups ?? [];
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        url,
        {
          method,
          agent,
          headers: {
            ...headers,
            Accept: opts.accept ?? 'application/json',
            ...(groups.length ? { 'Impersonate-Group': groups } : {}),
            ...(payload ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': payload.length } : {}),
          },
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        resolve,
      );
      if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`request timed out after ${opts.timeoutMs}ms`)));
      req.on('error', (e) => reject(Object.assign(e, { reusedSocket: req.reusedSocket })));
      if (payload) req.write(payload);
      req.end();
    });
  }

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.open(method, path, { timeoutMs: 60_000, ...opts });
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 500;
    if (status >= 400) throw ApiError.fromResponse(status, method, path, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Opens a watch stream and calls `onEvent` for each JSON line. Resolves when the server
   * closes the stream; rejects on HTTP errors (with the status) or network errors.
   */
  async stream(path: string, opts: RequestOptions, onLine: (obj: unknown) => void): Promise<void> {
    const res = await this.open('GET', path, opts);
    const status = res.statusCode ?? 500;
    if (status >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw ApiError.fromResponse(status, 'GET', path, Buffer.concat(chunks).toString('utf8'));
    }
    let buf = '';
    res.setEncoding('utf8');
    for await (const chunk of res) {
      buf += chunk as string;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) onLine(JSON.parse(line));
      }
    }
  }

  close(): void {
    this.agent?.destroy();
  }
}

type RequestObserver = (method: string, code: number, host: string) => void;
const requestObservers = new Set<RequestObserver>();

/**
 * Tells `fn` about every API response of every client in the process (for
 * `rest_client_requests_total`); returns the function that stops it.
 */
export function observeRequests(fn: RequestObserver): () => void {
  requestObservers.add(fn);
  return () => requestObservers.delete(fn);
}
