import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../../runtime/log/logger.ts';
import { isWithin } from './paths.ts';
import { isSafeSegment } from './store.ts';

export interface ArtifactServerOptions {
  storagePath: string;
  /** `host:port` as Flux's `--storage-addr` takes it: `:9090`, `0.0.0.0:9090`, `127.0.0.1:0`, `[::1]:0`. */
  addr: string;
  logger?: Logger;
}

export interface ArtifactServer {
  /** A URL that reaches the server from this host, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Splits a Go-style listen address; an empty host means every interface. */
export function parseListenAddress(addr: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = Number(match?.[3]);
  if (match === null || !(port >= 0 && port <= 65535)) {
    throw new RangeError(`invalid listen address '${addr}': expected host:port, e.g. ':9090'`);
  }
  return { host: match[1] ?? match[2] ?? '', port };
}

const CONTENT_TYPES: ReadonlyArray<readonly [string, string]> = [
  ['.tar.gz', 'application/gzip'],
  ['.tgz', 'application/gzip'],
  ['.yaml', 'application/x-yaml'],
  ['.yml', 'application/x-yaml'],
  ['.json', 'application/json'],
];

function contentType(fileName: string): string {
  return CONTENT_TYPES.find(([ext]) => fileName.endsWith(ext))?.[1] ?? 'application/octet-stream';
}

/**
 * Serves the artifact storage read-only with Flux's URL layout,
 * `/<kind>/<namespace>/<name>/<file>`, for consumers outside the process (Flux's own
 * controllers, `flux` CLI users, CI). Unlike Go's http.FileServer it lists no
 * directories and serves nothing but those files: each segment is percent-decoded
 * and checked on its own (so `%2e%2e` and `%2f` cannot climb out), and the resolved
 * file must be a regular file under the storage root.
 */
export async function startArtifactServer(options: ArtifactServerOptions): Promise<ArtifactServer> {
  const { host, port } = parseListenAddress(options.addr);
  const root = await fs.realpath(options.storagePath);
  const server = http.createServer((req, res) => {
    serve(root, req, res).catch((e: unknown) => {
      if (!res.headersSent) {
        options.logger?.error({ err: e, path: req.url }, 'artifact server failed to answer a request');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      } else {
        // Mostly a client that went away mid-download; nothing to report.
        res.destroy();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const reachableHost =
    host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${reachableHost}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

async function serve(root: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('method not allowed\n');
    return;
  }
  const file = await resolveRequestPath(root, req.url ?? '');
  if (file === undefined) {
    notFound(res);
    return;
  }
  let handle: fs.FileHandle;
  try {
    // The real path was checked to be inside the root; O_NOFOLLOW keeps it that way
    // should the file be swapped for a symlink in between.
    handle = await fs.open(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    notFound(res);
    return;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      notFound(res);
      return;
    }
    const etag = `"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
    const headers = {
      'Content-Type': contentType(file),
      'Last-Modified': stat.mtime.toUTCString(),
      ETag: etag,
      'X-Content-Type-Options': 'nosniff',
    };
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(stat.size) });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    await pipeline(handle.createReadStream({ autoClose: false, end: Math.max(stat.size - 1, 0), start: 0 }), res);
  } finally {
    await handle.close();
  }
}

/** The file a request path names, or undefined when it names nothing servable. */
async function resolveRequestPath(root: string, rawUrl: string): Promise<string | undefined> {
  const rawPath = rawUrl.split('?')[0] ?? '';
  if (!rawPath.startsWith('/')) return undefined;
  const segments: string[] = [];
  for (const raw of rawPath.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (!isSafeSegment(segment)) return undefined;
    segments.push(segment);
  }
  if (segments.length !== 4) return undefined;
  const candidate = path.join(root, ...segments);
  let real: string;
  try {
    real = await fs.realpath(candidate);
  } catch {
    return undefined;
  }
  return isWithin(root, real) ? real : undefined;
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

function notFound(res: http.ServerResponse): void {
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
  res.end('404 page not found\n');
}
