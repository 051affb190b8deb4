/**
 * The hardened environment of one git operation. Each operation gets a private temp
 * directory (mode 0700) that is its HOME and holds the key, known_hosts and CA files;
 * it is removed when the operation ends.
 *
 * Hardening, and why:
 * - No system or user configuration (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`,
 *   HOME in the temp dir): the operator's own git or ssh setup must not change behaviour.
 * - No prompts (`GIT_TERMINAL_PROMPT=0`, a failing `GIT_ASKPASS`, ssh `BatchMode`): a
 *   missing credential fails at once instead of hanging until the timeout.
 * - Only http, https and ssh transports (`protocol.allow`), also for submodules: no
 *   `ext::` commands, no reading local files through `file://` unless tests enable it.
 * - No hooks (`core.hooksPath=/dev/null`), no fsmonitor, no background gc.
 * - Secrets never go on a command line, which any local user can read in /proc: HTTP
 *   credentials and the proxy travel as configuration in the environment
 *   (`GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`), keys and CAs as 0600 files.
 * - HTTP credentials are scoped to the remote's origin (`http.<origin>.extraHeader`), so a
 *   submodule on another host never receives them.
 * - `LC_ALL=C`, so git's messages can be classified.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ParsedGitUrl } from './git-url.ts';
import type { GitAuth, GitProxy } from './types.ts';

export interface SessionSettings {
  /** PATH for git and ssh. */
  searchPath: string;
  /** Parent of the per-operation temp directories. */
  tmpDir?: string;
  allowFileProtocol: boolean;
  /** The ssh binary git runs. */
  sshBinary: string;
  /** Proxy variables inherited from the operator's own configuration (Flux honours them). */
  environmentProxy?: { httpProxy?: string; httpsProxy?: string; noProxy?: string };
}

export interface GitSession {
  readonly dir: string;
  readonly env: Record<string, string>;
  dispose(): Promise<void>;
}

/** Settings that apply to every git invocation, as `[key, value]` pairs. */
function baseConfig(allowFile: boolean): [string, string][] {
  const config: [string, string][] = [
    ['protocol.allow', 'never'],
    ['protocol.https.allow', 'always'],
    ['protocol.http.allow', 'always'],
    ['protocol.ssh.allow', 'always'],
    ['protocol.version', '2'],
    ['core.hooksPath', '/dev/null'],
    ['core.fsmonitor', 'false'],
    ['core.askPass', ''],
    ['credential.helper', ''],
    ['submodule.recurse', 'false'],
    ['init.defaultBranch', 'master'],
    ['advice.detachedHead', 'false'],
    ['gc.auto', '0'],
    ['maintenance.auto', 'false'],
    ['fetch.writeCommitGraph', 'false'],
    ['commit.gpgSign', 'false'],
    ['tag.gpgSign', 'false'],
  ];
  if (allowFile) config.push(['protocol.file.allow', 'always']);
  return config;
}

export async function openSession(
  target: ParsedGitUrl | undefined,
  auth: GitAuth,
  proxy: GitProxy | undefined,
  settings: SessionSettings,
  connectTimeoutSeconds: number,
): Promise<GitSession> {
  const dir = await mkdtemp(path.join(settings.tmpDir ?? tmpdir(), 'flotilla-git-'));
  await chmod(dir, 0o700);
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    const config = baseConfig(settings.allowFileProtocol);
    const env: Record<string, string> = {
      PATH: settings.searchPath,
      HOME: dir,
      XDG_CONFIG_HOME: dir,
      LC_ALL: 'C',
      LANG: 'C',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      // Run for any credential prompt; failing ends the prompt at once.
      GIT_ASKPASS: 'false',
      GIT_SSH_VARIANT: 'ssh',
      GIT_SSH_COMMAND: sshCommand(settings.sshBinary, dir, auth, connectTimeoutSeconds),
    };
    const inherited = settings.environmentProxy;
    if (inherited?.httpProxy) env.http_proxy = inherited.httpProxy;
    if (inherited?.httpsProxy) env.https_proxy = inherited.httpsProxy;
    if (inherited?.noProxy) env.no_proxy = inherited.noProxy;

    if (auth.type === 'ssh') {
      await writePrivate(dir, 'identity', withTrailingNewline(auth.identity));
      await writePrivate(dir, 'known_hosts', withTrailingNewline(auth.knownHosts));
      if (auth.password !== undefined) {
        await writePrivate(dir, 'passphrase', auth.password);
        // ssh asks this helper for the key's passphrase; the helper only prints a file.
        await writePrivate(dir, 'askpass', `#!/bin/sh\nexec cat ${shellQuote(path.join(dir, 'passphrase'))}\n`, 0o700);
        env.SSH_ASKPASS = path.join(dir, 'askpass');
        env.SSH_ASKPASS_REQUIRE = 'force';
      }
    } else if (target !== undefined) {
      const scope = `http.${target.origin}`;
      if (auth.type === 'basic') {
        const encoded = Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64');
        config.push([`${scope}.extraHeader`, `Authorization: Basic ${encoded}`]);
      } else if (auth.type === 'bearer') {
        config.push([`${scope}.extraHeader`, `Authorization: Bearer ${auth.token}`]);
      }
      const tls = auth.tls;
      if (tls?.caPem !== undefined) {
        config.push([`${scope}.sslCAInfo`, await writePrivate(dir, 'ca.crt', withTrailingNewline(tls.caPem))]);
      }
      if (tls?.certPem !== undefined && tls.keyPem !== undefined) {
        config.push([`${scope}.sslCert`, await writePrivate(dir, 'tls.crt', withTrailingNewline(tls.certPem))]);
        config.push([`${scope}.sslKey`, await writePrivate(dir, 'tls.key', withTrailingNewline(tls.keyPem))]);
      }
    }
    if (proxy !== undefined) config.push(['http.proxy', proxyUrl(proxy)]);

    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    return { dir, env, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/**
 * git runs GIT_SSH_COMMAND through a shell, so every path in it is quoted; none of it
 * comes from the user (the paths are the session's own files).
 */
function sshCommand(sshBinary: string, dir: string, auth: GitAuth, connectTimeoutSeconds: number): string {
  const knownHosts = auth.type === 'ssh' ? path.join(dir, 'known_hosts') : '/dev/null';
  const options = [
    '-F', '/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${knownHosts}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'UpdateHostKeys=no',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'PreferredAuthentications=publickey',
    '-o', 'PasswordAuthentication=no',
    '-o', 'KbdInteractiveAuthentication=no',
    '-o', `ConnectTimeout=${Math.max(1, Math.ceil(connectTimeoutSeconds))}`,
    '-o', 'ServerAliveInterval=15',
    '-o', 'ServerAliveCountMax=4',
    '-o', 'ControlMaster=no',
    '-o', 'ControlPath=none',
    '-o', 'ForwardAgent=no',
    '-o', 'ForwardX11=no',
    '-o', 'PermitLocalCommand=no',
    '-o', 'LogLevel=ERROR',
  ];
  if (auth.type === 'ssh') {
    options.push('-i', path.join(dir, 'identity'));
    // BatchMode would also stop ssh from asking SSH_ASKPASS for the key's passphrase.
    if (auth.password === undefined) options.push('-o', 'BatchMode=yes');
  } else {
    // Naming a file that holds no key keeps ssh from falling back to ~/.ssh/id_* of the
    // operator's own account.
    options.push('-o', 'BatchMode=yes', '-o', 'IdentityFile=/dev/null');
  }
  return [sshBinary, ...options].map(shellQuote).join(' ');
}

function proxyUrl(proxy: GitProxy): string {
  const u = new URL(proxy.url);
  if (proxy.username !== undefined) u.username = encodeURIComponent(proxy.username);
  if (proxy.password !== undefined) u.password = encodeURIComponent(proxy.password);
  return u.toString();
}

async function writePrivate(dir: string, name: string, content: string, mode = 0o600): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content, { mode, flag: 'wx' });
  return file;
}

function withTrailingNewline(text: string): string {
  const normalized = text.replace(/\r\n/g, '\n');
  return normalized.endsWith('\n') ? normalized : `${normalized}\n`;
}

/** POSIX shell single-quoting. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_./=:,@%+-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
