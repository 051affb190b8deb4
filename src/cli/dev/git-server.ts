/**
 * Real Git servers for tests: smart HTTP through `git http-backend` (CGI) behind a small
 * Node HTTP server with basic or bearer auth, plus helpers that create bare repositories
 * and add commits and tags to them with git plumbing (no work tree needed).
 *
 * The server records every request it answers (service and protocol command), so a test
 * can assert what a client really cost the server, e.g. "a no-op poll is one ls-refs".
 */
import { spawn, execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface GitHttpServerOptions {
  /** Directory holding the bare repositories (`<root>/<name>.git`). */
  root: string;
  /** When set (with `password`), requests need HTTP basic auth with these credentials. */
  username?: string;
  password?: string;
  /** When set, `Authorization: Bearer <token>` is accepted too. */
  token?: string;
  /** Serve HTTPS with this certificate; with `clientCaPem`, require a client certificate it signed. */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
}

export interface GitHttpRequestRecord {
  method: string;
  /** Path below the server root, e.g. `/app.git/info/refs`. */
  path: string;
  /** `git-upload-pack` or `git-receive-pack` when the request is for one of them. */
  service: string | undefined;
  /**
   * What the client asked for: the protocol v2 command (`ls-refs`, `fetch`), `fetch` for a
   * v0 upload-pack negotiation, `push` for receive-pack, `advertise` for `info/refs`.
   */
  command: string | undefined;
  /** The HTTP status the server answered with. */
  status: number;
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>` (or `https://`) */
  readonly baseUrl: string;
  /** Clone URL of `<root>/<repoName>.git` (`repoName` without the `.git` suffix). */
  url(repoName: string): string;
  /** Every request answered so far, oldest first. */
  readonly requests: readonly GitHttpRequestRecord[];
  /** Forgets the recorded requests (to measure one operation). */
  resetRequests(): void;
  close(): Promise<void>;
}

const MAX_REQUEST_BODY = 64 * 1024 * 1024;

export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const root = path.resolve(options.root);
  const requests: GitHttpRequestRecord[] = [];

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain' });
      }
      res.end(`git test server: ${e instanceof Error ? e.message : String(e)}\n`);
    });
  };
  const tls = options.tls;
  const server = tls
    ? createHttpsServer(
        {
          cert: tls.certPem,
          key: tls.keyPem,
          ...(tls.clientCaPem ? { ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: true } : {}),
        },
        listener,
      )
    : createServer(listener);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const service = serviceOf(url);
    const record: GitHttpRequestRecord = { method, path: url.pathname, service, command: undefined, status: 0 };
    requests.push(record);

    if (!authorized(req.headers.authorization, options)) {
      record.status = 401;
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"', 'content-type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }

    const body = await readBody(req);
    record.command = commandOf(url, method, service, body, req.headers);

    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: root,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      // Push over HTTP is refused by http-backend unless enabled (or REMOTE_USER is set).
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'http.receivepack',
      GIT_CONFIG_VALUE_0: 'true',
      // The repositories are created by the test process, possibly as another user.
      GIT_CONFIG_KEY_1: 'safe.directory',
      GIT_CONFIG_VALUE_1: '*',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: method,
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.startsWith('?') ? url.search.slice(1) : url.search,
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      CONTENT_LENGTH: String(body.length),
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: options.username ?? 'anonymous',
    };
    const protocolHeader = req.headers['git-protocol'];
    if (typeof protocolHeader === 'string') env.GIT_PROTOCOL = protocolHeader;
    const encoding = req.headers['content-encoding'];
    if (typeof encoding === 'string') env.HTTP_CONTENT_ENCODING = encoding;

    await runCgi(env, body, res, record);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;

  return {
    baseUrl,
    url: (repoName) => `${baseUrl}/${repoName}.git`,
    requests,
    resetRequests: () => {
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function authorized(header: string | undefined, options: GitHttpServerOptions): boolean {
  const needsBasic = options.username !== undefined || options.password !== undefined;
  const needsToken = options.token !== undefined;
  if (!needsBasic && !needsToken) return true;
  if (header === undefined) return false;
  const [scheme, value = ''] = header.split(' ', 2);
  if (needsBasic && scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    return decoded === `${options.username ?? ''}:${options.password ?? ''}`;
  }
  if (needsToken && scheme?.toLowerCase() === 'bearer') return value === options.token;
  return false;
}

function serviceOf(url: URL): string | undefined {
  const queried = url.searchParams.get('service');
  if (queried) return queried;
  const last = url.pathname.split('/').pop();
  return last === 'git-upload-pack' || last === 'git-receive-pack' ? last : undefined;
}

function commandOf(
  url: URL,
  method: string,
  service: string | undefined,
  body: Buffer,
  headers: IncomingMessage['headers'],
): string | undefined {
  if (method === 'GET' && url.pathname.endsWith('/info/refs')) return 'advertise';
  if (service === 'git-receive-pack') return 'push';
  if (service !== 'git-upload-pack') return undefined;
  let payload = body;
  if (headers['content-encoding'] === 'gzip') {
    try {
      payload = gunzipSync(body);
    } catch {
      return undefined;
    }
  }
  const text = firstPktLine(payload);
  if (text === undefined) return undefined;
  const v2 = /^command=([a-z-]+)/.exec(text);
  if (v2) return v2[1];
  return text.startsWith('want ') ? 'fetch' : undefined;
}

function firstPktLine(payload: Buffer): string | undefined {
  if (payload.length < 4) return undefined;
  const length = Number.parseInt(payload.subarray(0, 4).toString('ascii'), 16);
  if (!Number.isFinite(length) || length < 4 || length > payload.length) return undefined;
  return payload.subarray(4, length).toString('utf8');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_REQUEST_BODY) throw new Error('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Runs `git http-backend` and relays its CGI response (header block, then body). */
function runCgi(env: NodeJS.ProcessEnv, body: Buffer, res: ServerResponse, record: GitHttpRequestRecord): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let head = Buffer.alloc(0);
    let headersDone = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 16_384) stderr += d.toString('utf8');
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const split = headerEnd(head);
      if (!split) return;
      headersDone = true;
      const { status, headers } = parseCgiHeaders(head.subarray(0, split.index).toString('latin1'));
      record.status = status;
      res.writeHead(status, headers);
      const rest = head.subarray(split.index + split.length);
      if (rest.length > 0) res.write(rest);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (!headersDone) {
        record.status = 500;
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`git http-backend exited with ${String(code)}: ${stderr}`);
      } else {
        res.end();
      }
      resolve();
    });
    child.stdin.on('error', () => {
      // http-backend may exit before reading all input (e.g. on a bad request); its
      // response still tells the client what went wrong.
    });
    child.stdin.end(body);
  });
}

function headerEnd(buf: Buffer): { index: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf <= lf)) return { index: crlf, length: 4 };
  if (lf >= 0) return { index: lf, length: 2 };
  return undefined;
}

function parseCgiHeaders(block: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      status = Number.parseInt(value, 10) || 500;
    } else {
      headers[name] = value;
    }
  }
  return { status, headers };
}

// ---------------------------------------------------------------------------------------
// Repositories

/** A file's content, or a symbolic link, or `null` to delete the path. */
export type RepoFile = string | Buffer | { symlink: string } | { content: string | Buffer; executable: true } | null;

export interface CommitOptions {
  branch?: string;
  message?: string;
  author?: { name: string; email: string };
  /** ISO date or git date string; makes commit ids reproducible when set. */
  date?: string;
  /** Start from an empty tree instead of the branch's (the files are the whole new tree). */
  replaceTree?: boolean;
  /** Make no commit when the resulting tree equals the branch's; returns the current commit. */
  skipIfUnchanged?: boolean;
  /** Create this lightweight tag on the new commit. */
  tag?: string;
  /** Create this annotated tag (with the given message) on the new commit. */
  annotatedTag?: { name: string; message: string };
  /**
   * Sign the commit and the annotated tag: `ssh` with the private key file `key`, or
   * `openpgp` with the key id `key` from the keyring in `gnupgHome`.
   */
  sign?: { format: 'ssh' | 'openpgp'; key: string; gnupgHome?: string };
}

const HARNESS_GIT_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_TERMINAL_PROMPT: '0',
  LC_ALL: 'C',
};

/** Runs git with argv only (test helper); resolves stdout, rejects with stderr. */
export function harnessGit(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string | Buffer; cwd?: string } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      args,
      {
        env: { ...HARNESS_GIT_ENV, HOME: tmpdir(), ...options.env },
        cwd: options.cwd,
        maxBuffer: 64 * 1024 * 1024,
        timeout: 60_000,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`git ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

export function repoPath(root: string, name: string): string {
  return path.join(root, `${name}.git`);
}

/**
 * Creates the bare repository `<root>/<name>.git` whose `branch` (default `main`, also
 * HEAD) holds one commit with `files`. Returns the commit id.
 */
export async function createRepo(
  root: string,
  name: string,
  files: Record<string, RepoFile>,
  options: CommitOptions = {},
): Promise<string> {
  const gitDir = repoPath(root, name);
  await mkdir(path.dirname(gitDir), { recursive: true });
  const branch = options.branch ?? 'main';
  await harnessGit(['init', '--quiet', '--bare', `--initial-branch=${branch}`, '--', gitDir]);
  return commitFiles(root, name, files, { message: 'initial commit', ...options, branch });
}

/**
 * Adds a commit to `branch` (default `main`; created from nothing if missing) that writes
 * or deletes the given paths on top of the branch's tree, and optionally tags it.
 * Returns the new commit id.
 */
export async function commitFiles(
  root: string,
  name: string,
  files: Record<string, RepoFile>,
  options: CommitOptions = {},
): Promise<string> {
  const gitDir = repoPath(root, name);
  const branch = options.branch ?? 'main';
  const ref = `refs/heads/${branch}`;
  const scratch = await mkdtemp(path.join(tmpdir(), 'git-harness-'));
  try {
    const author = options.author ?? { name: 'Flotilla Test', email: 'test@flotilla.invalid' };
    const env: NodeJS.ProcessEnv = {
      GIT_DIR: gitDir,
      GIT_INDEX_FILE: path.join(scratch, 'index'),
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: author.name,
      GIT_COMMITTER_EMAIL: author.email,
      ...(options.date ? { GIT_AUTHOR_DATE: options.date, GIT_COMMITTER_DATE: options.date } : {}),
    };
    const parent = (await harnessGit(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { env }).catch(() => '')).trim();
    if (parent && !options.replaceTree) await harnessGit(['read-tree', parent], { env });

    for (const [filePath, file] of Object.entries(files)) {
      if (file === null) {
        // mode 0 removes the entry; plain --force-remove would need a work tree
        await harnessGit(['update-index', '--index-info'], { env, input: `0 ${'0'.repeat(40)}\t${filePath}\n` });
        continue;
      }
      let mode = '100644';
      let content: string | Buffer;
      if (typeof file === 'string' || Buffer.isBuffer(file)) {
        content = file;
      } else if ('symlink' in file) {
        mode = '120000';
        content = file.symlink;
      } else {
        mode = '100755';
        content = file.content;
      }
      const blob = (await harnessGit(['hash-object', '-w', '--stdin'], { env, input: content })).trim();
      await harnessGit(['update-index', '--add', '--cacheinfo', `${mode},${blob},${filePath}`], { env });
    }

    const tree = (await harnessGit(['write-tree'], { env })).trim();
    if (options.skipIfUnchanged && parent) {
      const parentTree = (await harnessGit(['rev-parse', `${parent}^{tree}`], { env })).trim();
      if (parentTree === tree) return parent;
    }
    const sign = options.sign;
    const signing = sign ? ['-c', `gpg.format=${sign.format}`, '-c', `user.signingkey=${sign.key}`] : [];
    if (sign?.gnupgHome) env['GNUPGHOME'] = sign.gnupgHome;
    const commitArgs = [...signing, 'commit-tree', ...(sign ? ['-S'] : []), tree, '-m', options.message ?? `update ${Object.keys(files).join(', ')}`];
    if (parent) commitArgs.push('-p', parent);
    const commit = (await harnessGit(commitArgs, { env })).trim();
    await harnessGit(['update-ref', ref, commit, ...(parent ? [parent] : [])], { env });

    if (options.tag) await harnessGit(['tag', '--', options.tag, commit], { env });
    if (options.annotatedTag) {
      await harnessGit([...signing, 'tag', sign ? '-s' : '-a', '-m', options.annotatedTag.message, '--', options.annotatedTag.name, commit], { env });
    }
    return commit;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Tags an existing commit in `<root>/<name>.git` (lightweight unless `message` is given). */
export async function tagCommit(root: string, name: string, tag: string, commit: string, message?: string): Promise<void> {
  const env = { GIT_DIR: repoPath(root, name), GIT_COMMITTER_NAME: 'Flotilla Test', GIT_COMMITTER_EMAIL: 'test@flotilla.invalid' };
  const args = message === undefined ? ['tag', '--', tag, commit] : ['tag', '-a', '-m', message, '--', tag, commit];
  await harnessGit(args, { env });
}

/** The commit id `ref` points to in `<root>/<name>.git`. */
export async function revParse(root: string, name: string, ref: string): Promise<string> {
  return (await harnessGit(['rev-parse', '--verify', `${ref}^{commit}`], { env: { GIT_DIR: repoPath(root, name) } })).trim();
}

// ---------------------------------------------------------------------------------------
// TLS

export interface TestPki {
  /** CA that signed both certificates. */
  caPem: string;
  /** Server certificate for 127.0.0.1 and localhost. */
  serverCertPem: string;
  serverKeyPem: string;
  /** Client certificate for mutual TLS. */
  clientCertPem: string;
  clientKeyPem: string;
}

/** A throwaway CA with a server and a client certificate, made with the openssl CLI. */
export async function generateTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(path.join(tmpdir(), 'test-pki-'));
  const f = (name: string): string => path.join(dir, name);
  const openssl = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile('openssl', args, { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
        if (err) reject(new Error(`openssl ${args.join(' ')}: ${stderr || err.message}`));
        else resolve(stdout);
      });
    });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await openssl(['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '2', '-subj', '/CN=flotilla-test-ca']);
    await writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
    await writeFile(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const who of ['server', 'client']) {
      await openssl(['req', ...ec, '-keyout', f(`${who}.key`), '-out', f(`${who}.csr`), '-subj', `/CN=flotilla-test-${who}`]);
      await openssl([
        'x509', '-req', '-in', f(`${who}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
        '-out', f(`${who}.crt`), '-days', '2', '-extfile', f(`${who}.ext`),
      ]);
    }
    const read = (name: string): Promise<string> => readFile(f(name), 'utf8');
    return {
      caPem: await read('ca.crt'),
      serverCertPem: await read('server.crt'),
      serverKeyPem: await read('server.key'),
      clientCertPem: await read('client.crt'),
      clientKeyPem: await read('client.key'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
