/**
 * {@link GitClient} on the `git` CLI. Every call runs git with an argv array (never a
 * shell), inside a per-operation hardened environment (`session.ts`), with one deadline
 * for the whole operation and an output cap. URLs and ref names are validated before they
 * reach git, positional arguments follow `--`, and every message is redacted.
 */
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { StallingError } from '../../runtime/errors.ts';
import type { Logger } from '../../runtime/log/logger.ts';
import { runBounded, type BoundedRunResult } from './bounded-process.ts';
import { GitOperationError, gitFailure, gitTimeout, type FailureContext } from './failure.ts';
import { displayUrl, parseGitUrl, type ParsedGitUrl } from './git-url.ts';
import { redact, secretsOf } from './redact.ts';
import { effectiveRef, formatRevision, isCommitId, lsRemotePatterns, pickResolvedRef, RefNotFound, validateRef } from './refs.ts';
import { openSession, type GitSession, type SessionSettings } from './session.ts';
import type {
  BranchTip,
  CheckoutOptions,
  CheckoutResult,
  CommitAndPushOptions,
  GitAuth,
  GitCallOptions,
  GitClient,
  GitRef,
  GitSignature,
  PublicKeys,
  PushResult,
  ResolvedRef,
} from './types.ts';

export interface CliGitClientOptions {
  /** The git executable (looked up in `searchPath` unless absolute). Default `git`. */
  gitBinary?: string;
  /** The ssh executable git runs. Default `ssh`. */
  sshBinary?: string;
  /** Used only to explain why an SSH key was not accepted. Default `ssh-keygen`. */
  sshKeygenBinary?: string;
  /** PATH given to git; pass the operator's PATH from config. Default `/usr/local/bin:/usr/bin:/bin`. */
  searchPath?: string;
  /** Parent directory of the per-operation temp directories. Default: the OS temp dir. */
  tmpDir?: string;
  /** Accept `file://` URLs. For tests only: it lets a GitRepository read the operator's disk. */
  allowFileProtocol?: boolean;
  /** Deadline of an operation when the caller gives none (Flux's default `timeout`). */
  defaultTimeoutMs?: number;
  /** Cap on what one git command may print (ls-remote of a huge repository). */
  maxOutputBytes?: number;
  /** Proxy settings of the operator's own environment, honoured like Flux does. */
  environmentProxy?: SessionSettings['environmentProxy'];
  logger?: Logger;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT = 32 * 1024 * 1024;
const DEFAULT_SEARCH_PATH = '/usr/local/bin:/usr/bin:/bin';

interface Operation {
  readonly target: ParsedGitUrl | undefined;
  readonly session: GitSession;
  readonly secrets: readonly string[];
  /** Runs git; returns stdout, throws a classified GitOperationError on failure. */
  git(args: readonly string[], options: RunOptions): Promise<string>;
  /** Runs git; returns the raw result without throwing on a non-zero exit. */
  tryGit(args: readonly string[], options: RunOptions): Promise<BoundedRunResult>;
  failure(result: BoundedRunResult, operation: string): Promise<GitOperationError>;
}

interface RunOptions {
  /** Names the step in messages, e.g. `git fetch`. */
  operation: string;
  cwd?: string;
  input?: string;
  env?: Record<string, string>;
}

export class CliGitClient implements GitClient {
  private readonly settings: SessionSettings;
  private readonly gitBinary: string;
  private readonly sshKeygenBinary: string;
  private readonly defaultTimeoutMs: number;
  private readonly maxOutputBytes: number;
  private readonly logger: Logger | undefined;

  constructor(options: CliGitClientOptions = {}) {
    this.gitBinary = options.gitBinary ?? 'git';
    this.sshKeygenBinary = options.sshKeygenBinary ?? 'ssh-keygen';
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT;
    this.logger = options.logger;
    this.settings = {
      searchPath: options.searchPath ?? DEFAULT_SEARCH_PATH,
      allowFileProtocol: options.allowFileProtocol ?? false,
      sshBinary: options.sshBinary ?? 'ssh',
      ...(options.tmpDir !== undefined ? { tmpDir: options.tmpDir } : {}),
      ...(options.environmentProxy !== undefined ? { environmentProxy: options.environmentProxy } : {}),
    };
  }

  async lsRemote(url: string, auth: GitAuth, refPatterns: readonly string[], options: GitCallOptions = {}): Promise<Map<string, string>> {
    const target = this.parseUrl(url);
    return this.withOperation(target, auth, options, (op) => this.listRefs(op, target, refPatterns));
  }

  async resolveRef(url: string, auth: GitAuth, ref: GitRef | undefined, options: GitCallOptions = {}): Promise<ResolvedRef> {
    const target = this.parseUrl(url);
    const effective = effectiveRef(ref);
    validateRef(effective);
    const refs = await this.withOperation(target, auth, options, (op) => this.listRefs(op, target, lsRemotePatterns(effective)));
    try {
      return pickResolvedRef(effective, refs);
    } catch (e: unknown) {
      if (e instanceof RefNotFound) {
        const message = `${e.description} not found in ${displayUrl(target.url)}`;
        throw new GitOperationError('refNotFound', message, '');
      }
      throw e;
    }
  }

  async checkout(url: string, auth: GitAuth, resolved: ResolvedRef | BranchTip, dir: string, options: CheckoutOptions = {}): Promise<CheckoutResult> {
    const target = this.parseUrl(url);
    if (resolved.commit === undefined) {
      if (!/^refs\/heads\/./.test(resolved.refName)) throw new Error(`checkout: '${resolved.refName}' is not a branch`);
      validateRef({ kind: 'branch', branch: resolved.refName.slice('refs/heads/'.length) });
    } else if (!isCommitId(resolved.commit)) {
      throw new Error(`checkout: '${resolved.commit}' is not a commit id`);
    }
    const sparse = sparseDirectories(options.sparseCheckout ?? []);
    await mkdir(dir, { recursive: true });
    if ((await readdir(dir)).length > 0) throw new Error(`checkout: directory ${dir} is not empty`);

    return this.withOperation(target, auth, options, async (op) => {
      const at = { cwd: dir };
      await op.git(['init', '--quiet', '--', dir], { operation: 'git init' });
      await op.git(['remote', 'add', 'origin', '--', target.url], { ...at, operation: 'git remote add' });
      if (sparse.length > 0) {
        await op.git(['sparse-checkout', 'set', '--cone', '--', ...sparse], { ...at, operation: 'git sparse-checkout' });
      }

      const commit = await this.fetchResolved(op, resolved, dir, options.keepTag === true);
      await op.git(['checkout', '--quiet', '--detach', commit], { ...at, operation: 'git checkout' });

      if (options.recurseSubmodules) {
        const shallow = await op.tryGit(['submodule', 'update', '--init', '--recursive', '--depth=1'], { ...at, operation: 'git submodule update' });
        if (shallow.exitCode !== 0 && !shallow.timedOut && !shallow.aborted) {
          // A submodule pinned to a commit that is not a branch tip cannot always be
          // fetched shallowly (servers without protocol v2); fall back to a full fetch.
          await op.git(['submodule', 'update', '--init', '--recursive'], { ...at, operation: 'git submodule update' });
        }
      }

      const info = await this.commitInfo(op, dir, commit);
      return {
        commit,
        revision: formatRevision(resolved.kind, resolved.refName, commit),
        ...(resolved.refName !== undefined ? { refName: resolved.refName } : {}),
        ...info,
      };
    });
  }

  async verifySignatures(dir: string, objects: { commit?: string; tag?: string }, keys: PublicKeys, options: GitCallOptions = {}): Promise<{ commit?: string; tag?: string }> {
    return this.withOperation(undefined, { type: 'none' }, options, async (op) => {
      const trust = await mkdtemp(path.join(op.session.dir, 'trust-'));
      const gnupgHome = path.join(trust, 'gnupg');
      await mkdir(gnupgHome, { mode: 0o700 });
      for (const ring of keys.pgp) {
        const imported = await runBounded('gpg', ['--batch', '--quiet', '--no-tty', '--import'], {
          env: { PATH: this.settings.searchPath, GNUPGHOME: gnupgHome, LC_ALL: 'C' },
          timeoutMs: 30_000,
          maxOutputBytes: 1 << 20,
          input: ring,
        });
        if (imported.exitCode !== 0) throw new SignatureError('the PGP public key could not be read', 'key', firstLine(imported.stderr));
      }
      const signers = path.join(trust, 'allowed_signers');
      // allowed_signers wants `<principals> <type> <key>`: any principal, as Flux accepts any identity of a listed key
      const lines = keys.ssh.flatMap((k) => k.split('\n')).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
      await writeFile(signers, lines.map((l) => `* ${sshKeyOf(l)}`).join('\n') + '\n', { mode: 0o600 });
      const config = ['-c', 'gpg.program=gpg', '-c', `gpg.ssh.allowedSignersFile=${signers}`, '-c', 'gpg.ssh.program=ssh-keygen'];
      const verify = async (what: 'commit' | 'tag', name: string): Promise<string> => {
        const res = await op.tryGit([...config, what === 'commit' ? 'verify-commit' : 'verify-tag', '--', name], { cwd: dir, operation: `git verify-${what}`, env: { GNUPGHOME: gnupgHome } });
        const out = `${res.stderr}\n${res.stdout}`;
        if (res.exitCode !== 0) {
          const why = /no signature found/i.test(out) || !/signature/i.test(out) ? 'it is not signed' : /no public key|not found|no principal matched|Could not verify/i.test(out) ? 'it is not signed by any of the given keys' : firstLine(out);
          throw new SignatureError(why, what, firstLine(out));
        }
        return /key (SHA256:[A-Za-z0-9+/=]+)/.exec(out)?.[1] ?? /using \w+ key ([0-9A-F]+)/.exec(out)?.[1] ?? 'unknown key';
      };
      const out: { commit?: string; tag?: string } = {};
      if (objects.tag) out.tag = await verify('tag', objects.tag);
      if (objects.commit) out.commit = await verify('commit', objects.commit);
      return out;
    });
  }

  async commitAndPush(dir: string, options: CommitAndPushOptions): Promise<PushResult> {
    const remoteUrl = (await this.withOperation(undefined, { type: 'none' }, options, (op) =>
      op.git(['config', '--get', 'remote.origin.url'], { cwd: dir, operation: 'git config' }),
    )).trim();
    const target = this.parseUrl(remoteUrl);
    const pushBranch = options.pushBranch ?? options.branch;
    if (pushBranch === undefined || pushBranch === '') {
      throw new StallingError('GitOperationFailed', 'no branch to push to: set the push branch or check out a branch');
    }
    validateRef({ kind: 'branch', branch: pushBranch });
    const force = options.force ?? (options.branch !== undefined && pushBranch !== options.branch);

    return this.withOperation(target, options.auth, options, async (op) => {
      const at = { cwd: dir };
      await op.git(['add', '--all'], { ...at, operation: 'git add' });
      const status = await op.git(['status', '--porcelain'], { ...at, operation: 'git status' });
      if (status.trim() === '') return { pushed: false };
      const identity = {
        GIT_AUTHOR_NAME: options.author.name,
        GIT_AUTHOR_EMAIL: options.author.email,
        GIT_COMMITTER_NAME: options.author.name,
        GIT_COMMITTER_EMAIL: options.author.email,
      };
      await op.git(['commit', '--quiet', '--no-verify', '--cleanup=verbatim', '--file=-'], {
        ...at,
        operation: 'git commit',
        input: options.message,
        env: identity,
      });
      const commit = (await op.git(['rev-parse', '--verify', 'HEAD^{commit}'], { ...at, operation: 'git rev-parse' })).trim();
      const pushArgs = ['push', '--quiet', '--no-verify', ...(force ? ['--force'] : []), '--', 'origin', `HEAD:refs/heads/${pushBranch}`];
      await op.git(pushArgs, { ...at, operation: 'git push' });
      return { pushed: true, commit, pushBranch };
    });
  }

  // -------------------------------------------------------------------------------------

  private parseUrl(url: string): ParsedGitUrl {
    return parseGitUrl(url, { allowFile: this.settings.allowFileProtocol });
  }

  private async listRefs(op: Operation, target: ParsedGitUrl, patterns: readonly string[]): Promise<Map<string, string>> {
    for (const p of patterns) {
      if (p.startsWith('-') || /[\x00-\x1f\x7f]/.test(p)) throw new Error(`invalid ref pattern '${p}'`);
    }
    // With a glob, git cannot ask the server for a prefix; --tags/--heads restore that.
    const scope = patterns.length > 0 && patterns.every((p) => p.startsWith('refs/tags/'))
      ? ['--tags']
      : patterns.length > 0 && patterns.every((p) => p.startsWith('refs/heads/'))
        ? ['--heads']
        : [];
    const out = await op.git(['ls-remote', ...scope, '--', target.url, ...patterns], { operation: 'git ls-remote' });
    const refs = new Map<string, string>();
    for (const line of out.split('\n')) {
      const tab = line.indexOf('\t');
      if (tab <= 0) continue;
      const sha = line.slice(0, tab);
      const name = line.slice(tab + 1);
      if (isCommitId(sha)) refs.set(name, sha);
    }
    return refs;
  }

  /**
   * Fetches exactly the resolved commit, depth 1. Asking for the commit id (rather than the
   * ref name) saves the ls-refs round trip git would make to resolve the name again, and
   * gets what was resolved even if the ref moves meanwhile. Servers that only serve
   * advertised tips (no protocol v2) get the ref name instead; for a commit on a branch,
   * the branch's history.
   */
  private async fetchResolved(op: Operation, resolved: ResolvedRef | BranchTip, dir: string, keepTag = false): Promise<string> {
    const at = { cwd: dir, operation: 'git fetch' };
    const base = ['fetch', '--quiet', '--no-tags', '--no-recurse-submodules', '--no-write-commit-graph'];
    if (resolved.commit === undefined) {
      await op.git([...base, '--depth=1', '--', 'origin', resolved.refName], at);
      // FETCH_HEAD's first line starts with the fetched commit (a branch tip is a commit)
      const head = (await readFile(path.join(dir, '.git', 'FETCH_HEAD'), 'utf8')).slice(0, 64).split(/\s/)[0] ?? '';
      if (!isCommitId(head)) throw new Error(`fetch of ${resolved.refName} left no commit in FETCH_HEAD`);
      return head;
    }
    if (keepTag && resolved.refName?.startsWith('refs/tags/')) {
      // the tag object comes along with the commit it points to
      await op.git([...base, '--depth=1', '--', 'origin', `+${resolved.refName}:${resolved.refName}`], at);
      return (await op.git(['rev-parse', '--verify', `${resolved.refName}^{commit}`], { cwd: dir, operation: 'git rev-parse' })).trim();
    }
    const byId = await op.tryGit([...base, '--depth=1', '--', 'origin', resolved.commit], at);
    if (byId.exitCode === 0) return resolved.commit;
    if (!fetchByIdRefused(byId)) throw await op.failure(byId, 'git fetch');
    if (resolved.refName === undefined) {
      throw new GitOperationError(
        'refNotFound',
        `commit '${resolved.commit}' not found in ${displayUrl(op.target?.url ?? '')} (or the server does not serve commits by id; set ref.branch too)`,
        '',
      );
    }

    if (resolved.kind === 'commit') {
      await op.git([...base, '--', 'origin', resolved.refName], at);
      const present = await op.tryGit(['cat-file', '-e', `${resolved.commit}^{commit}`], { cwd: dir, operation: 'git cat-file' });
      if (present.exitCode !== 0) {
        throw new GitOperationError(
          'refNotFound',
          `commit '${resolved.commit}' not found on ${resolved.refName} in ${displayUrl(op.target?.url ?? '')}`,
          '',
        );
      }
      return resolved.commit;
    }
    await op.git([...base, '--depth=1', '--', 'origin', resolved.refName], at);
    // The ref may have moved since it was resolved: check out what was fetched.
    return (await op.git(['rev-parse', '--verify', 'FETCH_HEAD^{commit}'], { cwd: dir, operation: 'git rev-parse' })).trim();
  }

  private async commitInfo(op: Operation, dir: string, commit: string): Promise<Pick<CheckoutResult, 'author' | 'committer' | 'message'>> {
    const out = await op.git(['log', '-1', '--format=%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B', commit, '--'], {
      cwd: dir,
      operation: 'git log',
    });
    const [an = '', ae = '', ad = '', cn = '', ce = '', cd = '', ...message] = out.split('\0');
    const sig = (name: string, email: string, date: string): GitSignature => ({ name, email, date });
    return { author: sig(an, ae, ad), committer: sig(cn, ce, cd), message: message.join('\0').replace(/\n+$/, '') };
  }

  /**
   * ssh says only "Permission denied" when it cannot load the key (wrong passphrase, not a
   * key). After such a failure, ask ssh-keygen to read the key, with the same askpass
   * helper, to tell the user which of the two it is. Costs nothing on the happy path.
   */
  private async diagnoseIdentity(session: GitSession): Promise<GitOperationError | undefined> {
    const result = await runBounded(this.sshKeygenBinary, ['-y', '-f', path.join(session.dir, 'identity')], {
      env: session.env,
      timeoutMs: 10_000,
      maxOutputBytes: 64 * 1024,
    }).catch(() => undefined);
    if (result === undefined || result.exitCode === 0) return undefined;
    const why = /passphrase/i.test(result.stderr)
      ? "the Secret's 'password' does not decrypt it"
      : 'it is not a valid private key (PEM or OpenSSH format)';
    return new GitOperationError('invalidIdentity', `the SSH key in the Secret's 'identity' could not be used: ${why}`, '');
  }

  private async withOperation<T>(
    target: ParsedGitUrl | undefined,
    givenAuth: GitAuth,
    options: GitCallOptions,
    body: (op: Operation) => Promise<T>,
  ): Promise<T> {
    const auth = target ? effectiveAuth(target, givenAuth) : givenAuth;
    const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const secrets = [...secretsOf(auth, options.proxy), ...(target?.userinfo?.password ? [target.userinfo.password] : [])];
    const session = await openSession(target, auth, options.proxy, this.settings, timeoutMs / 1000);
    const shownUrl = target ? displayUrl(target.url) : '(local repository)';
    const context = (operation: string): FailureContext => ({
      operation,
      url: shownUrl,
      host: target?.host ?? 'localhost',
      transport: target?.scheme ?? 'file',
      credentials: auth.type !== 'none',
      secrets,
    });

    const tryGit = async (args: readonly string[], run: RunOptions): Promise<BoundedRunResult> => {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw gitTimeout(context(run.operation), timeoutMs, '');
      let result: BoundedRunResult;
      try {
        result = await runBounded(this.gitBinary, args, {
          env: run.env ? { ...session.env, ...run.env } : session.env,
          timeoutMs: remaining,
          maxOutputBytes: this.maxOutputBytes,
          ...(run.cwd !== undefined ? { cwd: run.cwd } : {}),
          ...(run.input !== undefined ? { input: run.input } : {}),
          ...(options.signal !== undefined ? { signal: options.signal } : {}),
        });
      } catch (e: unknown) {
        const why = e instanceof Error ? e.message : String(e);
        throw new GitOperationError('other', `cannot run ${this.gitBinary}: ${redact(why, secrets)}`, '');
      }
      this.logger?.debug(
        { command: redact(['git', ...args].join(' '), secrets), exitCode: result.exitCode, durationMs: result.durationMs },
        'git command finished',
      );
      return result;
    };
    const failure = async (result: BoundedRunResult, operation: string): Promise<GitOperationError> => {
      const ctx = context(operation);
      if (result.aborted) return new GitOperationError('aborted', `${operation} of ${shownUrl} was cancelled`, '');
      if (result.timedOut) return gitTimeout(ctx, timeoutMs, result.stderr);
      if (result.outputTooLarge) {
        return new GitOperationError('outputTooLarge', `${operation} of ${shownUrl} printed more than ${this.maxOutputBytes} bytes`, '');
      }
      const err = gitFailure(result.stderr, ctx);
      if ((err.failure === 'authentication' || err.failure === 'invalidIdentity') && auth.type === 'ssh') {
        return (await this.diagnoseIdentity(session)) ?? err;
      }
      return err;
    };
    const op: Operation = {
      target,
      session,
      secrets,
      tryGit,
      failure,
      git: async (args, run) => {
        const result = await tryGit(args, run);
        if (result.exitCode !== 0 || result.timedOut || result.aborted || result.outputTooLarge) throw await failure(result, run.operation);
        return result.stdout;
      },
    };
    try {
      return await body(op);
    } finally {
      await session.dispose();
    }
  }
}

/** The server does not serve unadvertised commits (protocol v0/v1 without allowAnySHA1InWant). */
function fetchByIdRefused(result: BoundedRunResult): boolean {
  return !result.timedOut && !result.aborted && /not our ref|unadvertised object|couldn't find remote ref|no such remote ref|Server does not allow request/i.test(result.stderr);
}

/** Credentials written in an HTTP URL are basic auth when the Secret gives none (as in Flux). */
function effectiveAuth(target: ParsedGitUrl, auth: GitAuth): GitAuth {
  if (auth.type === 'none' && target.userinfo && target.userinfo.username !== '') {
    return { type: 'basic', username: target.userinfo.username, password: target.userinfo.password, ...(auth.tls ? { tls: auth.tls } : {}) };
  }
  return auth;
}

/** Flux trims a leading "./"; anything escaping the repository is refused. */
function sparseDirectories(dirs: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of dirs) {
    const trimmed = raw.replace(/^(?:\.\/)+/, '').replace(/\/+$/, '');
    if (trimmed === '' || trimmed === '.') continue;
    const normalized = path.posix.normalize(trimmed);
    if (path.posix.isAbsolute(normalized) || normalized === '..' || normalized.startsWith('../') || /[\x00-\x1f\x7f]/.test(normalized)) {
      throw new StallingError('GitOperationFailed', `invalid sparseCheckout directory '${raw}': must be a path inside the repository`);
    }
    out.push(normalized);
  }
  return out;
}

/** Which object failed verification, and why, in words for a condition message. */
export class SignatureError extends Error {
  constructor(
    readonly why: string,
    readonly object: 'commit' | 'tag' | 'key',
    readonly detail: string,
  ) {
    super(detail ? `${why} (${detail})` : why);
  }
}

const firstLine = (text: string): string => text.split('\n').map((l) => l.trim()).find((l) => l) ?? '';

/** `<type> <base64>` of an authorized_keys line (options before the type are dropped). */
function sshKeyOf(line: string): string {
  const parts = line.split(/\s+/);
  const i = parts.findIndex((p) => /^(ssh-|ecdsa-|sk-)/.test(p));
  return i >= 0 ? `${parts[i]} ${parts[i + 1] ?? ''}` : line;
}
