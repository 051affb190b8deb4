/**
 * Turning git's stderr into errors a user can act on. git's wording is stable under
 * `LC_ALL=C` (which the client sets); the patterns below cover git's own messages, curl's
 * (HTTP transport) and OpenSSH's. The classification is carried by the error as a typed
 * `failure` field, so callers never need to look at message text.
 */
import { TransientError } from '../../runtime/errors.ts';
import { formatDuration } from '../../runtime/duration.ts';
import { redact } from './redact.ts';
import { GIT_OPERATION_FAILED_REASON } from './refs.ts';

export type GitFailure =
  | 'authentication'
  | 'hostKeyVerification'
  | 'repositoryNotFound'
  | 'refNotFound'
  | 'unreachable'
  | 'timeout'
  | 'tls'
  | 'invalidIdentity'
  | 'outputTooLarge'
  | 'aborted'
  | 'other';

/** A failed git operation: retried with backoff (the remote or the Secret may change). */
export class GitOperationError extends TransientError {
  readonly failure: GitFailure;
  /** The last lines git printed, redacted; already part of `message`. */
  readonly detail: string;
  constructor(failure: GitFailure, message: string, detail: string) {
    super(GIT_OPERATION_FAILED_REASON, message);
    this.failure = failure;
    this.detail = detail;
  }
}

export function isGitOperationError(e: unknown): e is GitOperationError {
  return e instanceof GitOperationError;
}

export interface FailureContext {
  /** What was attempted, e.g. `git ls-remote` or `git fetch`. */
  operation: string;
  /** The repository URL without credentials. */
  url: string;
  /** `host[:port]` of the remote. */
  host: string;
  transport: 'http' | 'https' | 'ssh' | 'file';
  /** Whether the operation sent credentials (changes how a 401 is explained). */
  credentials: boolean;
  secrets: readonly string[];
}

interface Rule {
  failure: GitFailure;
  pattern: RegExp;
}

// Order matters: the first rule that matches wins (e.g. a host key failure also ends with
// "Could not read from remote repository", which alone would mean "unreachable").
const RULES: readonly Rule[] = [
  { failure: 'hostKeyVerification', pattern: /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No \S+ host key is known for/i },
  {
    failure: 'invalidIdentity',
    pattern: /Load key .*: (?:invalid format|error in libcrypto|incorrect passphrase)|bad permissions|invalid private key|Bad passphrase/i,
  },
  {
    failure: 'authentication',
    pattern:
      /Permission denied \((?:publickey|password|keyboard-interactive)|Authentication failed|HTTP Basic: Access denied|returned error: 40[13]\b|could not read (?:Username|Password)|terminal prompts disabled|Invalid username or password|access denied|Unauthorized/i,
  },
  {
    failure: 'tls',
    // A server that drops the handshake for want of a client certificate shows up as a
    // fatal alert (curl-gnutls, as in Debian's git) or a failed getpeername() (curl-openssl).
    pattern:
      /SSL certificate problem|server certificate verification failed|unable to get local issuer certificate|SSL_ERROR|certificate verify failed|TLS connect error|gnutls_handshake|alert (?:certificate required|bad certificate|unknown ca|handshake failure)|getpeername\(\) failed|GnuTLS (?:recv|send|handshake) error|TLS fatal alert|OpenSSL SSL_(?:read|connect)|SSL routines/i,
  },
  {
    failure: 'repositoryNotFound',
    pattern: /repository '.*' not found|Repository not found|returned error: 404\b|does not appear to be a git repository|not a git repository|No such file or directory.*\.git|project you were looking for could not be found/i,
  },
  { failure: 'refNotFound', pattern: /couldn't find remote ref|not our ref|unadvertised object|no such remote ref/i },
  {
    failure: 'unreachable',
    pattern:
      /Could not resolve host|Could not resolve hostname|Name or service not known|Temporary failure in name resolution|Connection refused|Failed to connect to|Couldn't connect to server|No route to host|Network is unreachable|Connection timed out|Operation timed out|Connection reset|Connection closed by|ssh: connect to host|kex_exchange_identification|Could not read from remote repository|The remote end hung up unexpectedly|returned error: 5\d\d\b|transfer closed/i,
  },
];

/** Classifies git's stderr; `undefined` when nothing is recognised. */
export function classifyStderr(stderr: string): GitFailure | undefined {
  return RULES.find((rule) => rule.pattern.test(stderr))?.failure;
}

/**
 * Lines that say nothing about the cause: progress, hints, git's generic advice after an
 * SSH failure, and the failed credential prompt that follows a rejected HTTP header.
 */
const BOILERPLATE =
  /^(?:hint:|warning: redirecting|Cloning into|remote: (?:Enumerating|Counting|Compressing|Total)|fatal: Could not read from remote repository\.?$|Please make sure you have the correct access rights|and the repository exists\.?$|error: unable to read askpass response|ssh-keygen -f|Offending .* key in|Add correct host key in|Please contact your system administrator|@|remove with:|IT IS POSSIBLE|Someone could be|It is also possible|The fingerprint for|SHA256:|Host key for .* has changed and you have requested)/;

/** The last few meaningful lines of git's output, redacted, for the end of a message. */
export function gitDetail(stderr: string, secrets: readonly string[]): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !BOILERPLATE.test(l));
  const tail = lines.slice(-3).join('; ');
  const bounded = tail.length > 400 ? `${tail.slice(0, 400)}…` : tail;
  return redact(bounded, secrets);
}

/** Builds the user-facing error for a failed git command from its stderr. */
export function gitFailure(stderr: string, context: FailureContext): GitOperationError {
  const failure = classifyStderr(stderr) ?? 'other';
  let detail = gitDetail(stderr, context.secrets);
  // git does not know about credentials sent as a header: after a 401 it tries to prompt
  // for a username, and says that prompting is disabled. Say what really happened.
  if (failure === 'authentication' && /terminal prompts disabled/.test(detail)) {
    detail = context.credentials
      ? 'the server answered 401 Unauthorized to the credentials'
      : 'the server answered 401 Unauthorized and no credentials were given';
  }
  return new GitOperationError(failure, redact(describe(failure, context, detail), context.secrets), detail);
}

/** The error for a git command killed at its deadline. */
export function gitTimeout(context: FailureContext, timeoutMs: number, stderr: string): GitOperationError {
  const detail = gitDetail(stderr, context.secrets);
  const message = `${context.operation} of ${context.url} timed out after ${formatDuration(timeoutMs)}: ${context.host} did not answer in time${detail ? ` (git: ${detail})` : ''}`;
  return new GitOperationError('timeout', redact(message, context.secrets), detail);
}

function describe(failure: GitFailure, c: FailureContext, detail: string): string {
  const suffix = detail ? ` (git: ${detail})` : '';
  switch (failure) {
    case 'authentication':
      return c.transport === 'ssh'
        ? `authentication failed for ${c.url}: the server refused the SSH key from the Secret's 'identity'${suffix}`
        : `authentication failed for ${c.url}: check the credentials in the Secret ('username'/'password' or 'bearerToken')${suffix}`;
    case 'hostKeyVerification':
      return `host key verification failed for ${c.host}: the server's SSH host key is not in the Secret's 'known_hosts', or does not match it${suffix}`;
    case 'invalidIdentity':
      return `the SSH key in the Secret's 'identity' could not be used (wrong format or wrong 'password')${suffix}`;
    case 'tls':
      return /certificate (?:problem|verif)|issuer|self[- ]signed/i.test(detail)
        ? `TLS connection to ${c.host} failed: the server certificate is not trusted (set 'ca.crt' in the Secret for a private CA)${suffix}`
        : `TLS connection to ${c.host} failed: check 'ca.crt', and 'tls.crt'/'tls.key' if the server requires a client certificate${suffix}`;
    case 'repositoryNotFound':
      return `repository ${c.url} not found, or the credentials cannot read it${suffix}`;
    case 'refNotFound':
      return `${c.operation} of ${c.url} failed: the requested ref does not exist on the remote${suffix}`;
    case 'unreachable':
      return `cannot reach ${c.host} for ${c.url}${suffix}`;
    case 'timeout':
      return `${c.operation} of ${c.url} timed out${suffix}`;
    case 'outputTooLarge':
      return `${c.operation} of ${c.url} produced more output than allowed${suffix}`;
    case 'aborted':
      return `${c.operation} of ${c.url} was cancelled`;
    case 'other':
      return `${c.operation} of ${c.url} failed${suffix}`;
  }
}
