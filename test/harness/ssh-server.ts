/**
 * A real OpenSSH server for Git-over-SSH tests: `sshd -D` with a config, host key and
 * authorized_keys of its own in a temp directory, listening on a free loopback port,
 * run as the current user (root included). Clients reach `<root>/<repo>.git` through
 * `ssh://<user>@127.0.0.1:<port><root>/<repo>.git`.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createServer, connect, type AddressInfo } from 'node:net';
import { mkdtemp, mkdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';

export interface SshGitServerOptions {
  /** Directory holding the bare repositories (`<root>/<name>.git`). */
  root: string;
  /** Encrypt the generated client key with this passphrase. */
  clientKeyPassphrase?: string;
  /** The sshd binary. Default `/usr/sbin/sshd`. */
  sshdBinary?: string;
}

export interface SshGitServer {
  readonly port: number;
  /** The login user (the current user). */
  readonly user: string;
  /** `ssh://<user>@127.0.0.1:<port>/<root>/<repoName>.git` */
  url(repoName: string): string;
  /** known_hosts line for the server: `[127.0.0.1]:<port> ssh-ed25519 AAAA…` */
  readonly knownHosts: string;
  /** The server's public host key (`ssh-ed25519 AAAA…`). */
  readonly hostPublicKey: string;
  /** Private key (OpenSSH PEM) the server accepts. */
  readonly clientKey: string;
  readonly clientPublicKey: string;
  /** Accepts another client public key from now on. */
  authorizeKey(publicKey: string): Promise<void>;
  /** What sshd printed so far (for debugging a failing test). */
  logs(): string;
  close(): Promise<void>;
}

export interface SshKeyPair {
  privateKey: string;
  publicKey: string;
}

/** A fresh ed25519 key pair made by ssh-keygen (optionally passphrase-protected). */
export async function generateSshKey(passphrase = '', comment = 'flotilla-test'): Promise<SshKeyPair> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ssh-key-'));
  try {
    const file = path.join(dir, 'key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', comment, '-f', file]);
    return { privateKey: await readFile(file, 'utf8'), publicKey: (await readFile(`${file}.pub`, 'utf8')).trim() };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A known_hosts line for `publicKey` at 127.0.0.1:`port`. */
export function knownHostsLine(port: number, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  return `[127.0.0.1]:${port} ${type ?? ''} ${key ?? ''}`;
}

export async function startSshGitServer(options: SshGitServerOptions): Promise<SshGitServer> {
  const sshd = options.sshdBinary ?? '/usr/sbin/sshd';
  const root = path.resolve(options.root);
  const user = userInfo().username;
  const dir = await mkdtemp(path.join(tmpdir(), 'sshd-'));
  try {
    const hostKeyFile = path.join(dir, 'ssh_host_ed25519_key');
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'flotilla-test-host', '-f', hostKeyFile]);
    const hostPublicKey = (await readFile(`${hostKeyFile}.pub`, 'utf8')).trim();
    const client = await generateSshKey(options.clientKeyPassphrase ?? '', 'flotilla-test-client');
    const authorizedKeys = path.join(dir, 'authorized_keys');
    await writeFile(authorizedKeys, `restrict ${client.publicKey}\n`, { mode: 0o600 });

    // sshd refuses to start without its privilege separation directory (root only).
    if (process.getuid?.() === 0 && !existsSync('/run/sshd')) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

    let lastError = '';
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      const config = path.join(dir, 'sshd_config');
      await writeFile(config, sshdConfig({ port, hostKeyFile, authorizedKeys, user, pidFile: path.join(dir, 'sshd.pid') }));
      const child = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let logs = '';
      child.stderr?.on('data', (d: Buffer) => {
        logs += d.toString('utf8');
        if (logs.length > 256 * 1024) logs = logs.slice(-128 * 1024);
      });
      const ready = await waitForBanner(port, child, 10_000);
      if (!ready) {
        lastError = logs;
        await stop(child);
        continue;
      }
      return {
        port,
        user,
        url: (repoName) => `ssh://${user}@127.0.0.1:${port}${path.join(root, `${repoName}.git`)}`,
        knownHosts: knownHostsLine(port, hostPublicKey),
        hostPublicKey,
        clientKey: client.privateKey,
        clientPublicKey: client.publicKey,
        authorizeKey: (publicKey) => appendFile(authorizedKeys, `restrict ${publicKey.trim()}\n`),
        logs: () => logs,
        close: async () => {
          await stop(child);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
    throw new Error(`sshd did not start: ${lastError}`);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

function sshdConfig(c: { port: number; hostKeyFile: string; authorizedKeys: string; user: string; pidFile: string }): string {
  return [
    `Port ${c.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${c.hostKeyFile}`,
    `PidFile ${c.pidFile}`,
    `AuthorizedKeysFile ${c.authorizedKeys}`,
    `AllowUsers ${c.user}`,
    // The key files live in a temp dir whose parents sshd would otherwise check.
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'AuthenticationMethods publickey',
    'AllowTcpForwarding no',
    'X11Forwarding no',
    'PrintMotd no',
    'PermitUserEnvironment no',
    // Lets git use protocol v2 over SSH.
    'AcceptEnv GIT_PROTOCOL',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves true once the server sends its SSH banner, false if it exits or times out. */
async function waitForBanner(port: number, child: ChildProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const banner = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      const done = (ok: boolean): void => {
        socket.destroy();
        resolve(ok);
      };
      socket.setTimeout(1000, () => done(false));
      socket.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('SSH-')));
      socket.once('error', () => done(false));
    });
    if (banner) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 30_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}
