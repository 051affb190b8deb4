import http from 'node:http';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

export interface HttpServer {
  url: string;
  close(): Promise<void>;
}

/** Parses `host:port` / `:port` flags (Flux style) into listen arguments. */
export function parseAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = i > 0 ? addr.slice(0, i) : '0.0.0.0';
  const port = Number(i >= 0 ? addr.slice(i + 1) : addr);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid address ${JSON.stringify(addr)}: want host:port`);
  return { host: host.replace(/^\[|\]$/g, ''), port };
}

/** A small HTTP server with exact-path routes, and prefix routes for keys ending in `/`; 404 for anything else. */
export async function serve(addr: string, routes: Record<string, Handler>): Promise<HttpServer> {
  const { host, port } = parseAddr(addr);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const prefix = Object.keys(routes).find((k) => k.endsWith('/') && k !== '/' && path.startsWith(k) && path.length > k.length);
    const h = routes[path] ?? (prefix ? routes[prefix] : undefined);
    if (!h) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    Promise.resolve(h(req, res)).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`${e instanceof Error ? e.message : String(e)}\n`);
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const a = server.address();
  const boundPort = typeof a === 'object' && a ? a.port : port;
  const shownHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${boundPort}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
  };
}
