import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parse } from 'yaml';

/**
 * Who we are and where the API server is: what a Transport needs, whatever the source
 * (a kubeconfig file, the in-cluster service account, client-node's KubeConfig).
 */
export interface ClusterAccess {
  server: string;
  tls: { ca?: string | Buffer; cert?: string | Buffer; key?: string | Buffer; rejectUnauthorized?: boolean };
  /** Authorization (and impersonation) headers for the next request. */
  headers(): Promise<Record<string, string>>;
}

interface NamedCluster {
  name: string;
  cluster: { server: string; 'certificate-authority'?: string; 'certificate-authority-data'?: string; 'insecure-skip-tls-verify'?: boolean; 'tls-server-name'?: string };
}
interface NamedUser {
  name: string;
  user: {
    token?: string;
    tokenFile?: string;
    'client-certificate'?: string;
    'client-certificate-data'?: string;
    'client-key'?: string;
    'client-key-data'?: string;
    username?: string;
    password?: string;
    as?: string;
    'as-groups'?: string[];
    exec?: unknown;
    'auth-provider'?: unknown;
  };
}
interface NamedContext {
  name: string;
  context: { cluster: string; user: string; namespace?: string };
}
interface KubeconfigDoc {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

const TOKEN_FILE_TTL_MS = 60_000;

/**
 * A kubeconfig, read without client-node: tokens, token files (re-read, as bound service
 * account tokens rotate), client certificates, CA data and files, basic auth and `as`
 * impersonation. Loading client-node costs about 75 MB of memory, so it is only loaded for
 * the rare kubeconfig that needs it (exec and auth-provider plugins).
 */
export class Kubeconfig {
  private doc: KubeconfigDoc = {};
  private baseDir = process.cwd();
  private current = '';

  static fromFile(file: string, context?: string): Kubeconfig {
    const k = new Kubeconfig();
    k.load(readFileSync(file, 'utf8'), path.dirname(path.resolve(file)));
    if (context) k.useContext(context);
    return k;
  }

  static fromString(text: string, context?: string): Kubeconfig {
    const k = new Kubeconfig();
    k.load(text, process.cwd());
    if (context) k.useContext(context);
    return k;
  }

  private load(text: string, baseDir: string): void {
    const doc = parse(text) as KubeconfigDoc | null;
    if (!doc || typeof doc !== 'object') throw new Error('not a kubeconfig: the document is empty');
    this.doc = doc;
    this.baseDir = baseDir;
    this.current = doc['current-context'] ?? '';
  }

  hasContext(name: string): boolean {
    return !!this.doc.contexts?.some((c) => c.name === name);
  }

  useContext(name: string): void {
    if (!this.hasContext(name)) throw new Error(`context "${name}" does not exist in the kubeconfig`);
    this.current = name;
  }

  private context(): NamedContext['context'] | undefined {
    return this.doc.contexts?.find((c) => c.name === this.current)?.context;
  }

  cluster(): NamedCluster['cluster'] | undefined {
    const ctx = this.context();
    return ctx ? this.doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster : undefined;
  }

  user(): NamedUser['user'] | undefined {
    const ctx = this.context();
    return ctx ? this.doc.users?.find((u) => u.name === ctx.user)?.user : undefined;
  }

  /** Whether any user runs a program or a cloud auth provider to get credentials. */
  usesPlugins(): boolean {
    return !!this.doc.users?.some((u) => u.user.exec !== undefined || u.user['auth-provider'] !== undefined);
  }

  private file(p: string): Buffer {
    return readFileSync(path.resolve(this.baseDir, p));
  }

  access(): ClusterAccess {
    const cluster = this.cluster();
    if (!cluster?.server) throw new Error(`the kubeconfig has no cluster for context "${this.current}"`);
    const user = this.user() ?? {};
    if (user.exec !== undefined || user['auth-provider'] !== undefined) return this.viaClientNode();
    const tls: ClusterAccess['tls'] = {};
    if (cluster['certificate-authority-data']) tls.ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
    else if (cluster['certificate-authority']) tls.ca = this.file(cluster['certificate-authority']);
    if (cluster['insecure-skip-tls-verify']) tls.rejectUnauthorized = false;
    if (user['client-certificate-data']) tls.cert = Buffer.from(user['client-certificate-data'], 'base64');
    else if (user['client-certificate']) tls.cert = this.file(user['client-certificate']);
    if (user['client-key-data']) tls.key = Buffer.from(user['client-key-data'], 'base64');
    else if (user['client-key']) tls.key = this.file(user['client-key']);
    return { server: cluster.server, tls, headers: staticHeaders(user, (p) => this.file(p).toString('utf8')) };
  }

  /** For exec and auth-provider plugins only: delegate to client-node, loaded on demand. */
  private viaClientNode(): ClusterAccess {
    const require = createRequire(import.meta.url);
    const k8s = require('@kubernetes/client-node') as typeof import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: (this.doc.clusters ?? []).map((c) => ({ name: c.name, server: c.cluster.server, caData: c.cluster['certificate-authority-data'], caFile: c.cluster['certificate-authority'], skipTLSVerify: c.cluster['insecure-skip-tls-verify'] ?? false })),
      users: (this.doc.users ?? []).map((u) => ({ name: u.name, ...(u.user as object) })),
      contexts: (this.doc.contexts ?? []).map((c) => ({ name: c.name, cluster: c.context.cluster, user: c.context.user })),
      currentContext: this.current,
    });
    return accessFromClientNode(kc);
  }
}

function staticHeaders(user: NamedUser['user'], readText: (p: string) => string): () => Promise<Record<string, string>> {
  let cached: { token: string; at: number } | undefined;
  return async () => {
    const h: Record<string, string> = {};
    if (user.token) h['Authorization'] = `Bearer ${user.token}`;
    else if (user.tokenFile) {
      if (!cached || Date.now() - cached.at > TOKEN_FILE_TTL_MS) cached = { token: readText(user.tokenFile).trim(), at: Date.now() };
      h['Authorization'] = `Bearer ${cached.token}`;
    } else if (user.username !== undefined) {
      h['Authorization'] = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
    }
    if (user.as) h['Impersonate-User'] = user.as;
    return h;
  };
}

/** The pod's own service account, as client-go's in-cluster config reads it. */
export function inClusterAccess(host: string, port: string, dir = '/var/run/secrets/kubernetes.io/serviceaccount'): ClusterAccess {
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    server: `https://${h}:${port}`,
    tls: { ca: readFileSync(path.join(dir, 'ca.crt')) },
    headers: staticHeaders({ tokenFile: path.join(dir, 'token') }, (p) => readFileSync(p, 'utf8')),
  };
}

/** What client-node's KubeConfig offers that we use (kept structural: no import of client-node here). */
export interface ClientNodeKubeConfig {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: object): Promise<void>;
}

export function accessFromClientNode(kc: ClientNodeKubeConfig): ClusterAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  let tls: ClusterAccess['tls'] | undefined;
  const access: ClusterAccess = {
    server: cluster.server,
    get tls() {
      return tls ?? {};
    },
    async headers() {
      const opts: { headers: Record<string, unknown>; auth?: string; ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean } = { headers: {} };
      await kc.applyToHTTPSOptions(opts);
      tls ??= {
        ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
        ...(opts.cert !== undefined ? { cert: opts.cert } : {}),
        ...(opts.key !== undefined ? { key: opts.key } : {}),
        ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
      };
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers)) if (typeof v === 'string') h[k] = v;
      if (opts.auth) h['Authorization'] = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
      return h;
    },
  };
  return access;
}
