/**
 * Validation of a GitRepository `url` before it is handed to git. The URL reaches git's
 * argv, so anything git could read as an option, or a transport other than the allowed
 * ones (`ext::`, `fd::`, `file://`), is refused here, with a message the user can act on.
 */
import { StallingError } from '../../runtime/errors.ts';

export type GitScheme = 'http' | 'https' | 'ssh' | 'file';

export interface ParsedGitUrl {
  /** The URL git is given: no userinfo password; for SSH, a user (`git`) is always present. */
  url: string;
  scheme: GitScheme;
  /** `host` or `host:port`, for messages. */
  host: string;
  /** `scheme://host[:port]/`: HTTP credentials are scoped to it. */
  origin: string;
  /** Credentials written in the URL itself (HTTP only), which Flux accepts as basic auth. */
  userinfo?: { username: string; password: string };
}

export interface ParseGitUrlOptions {
  /** Accept `file://` URLs (tests only). */
  allowFile?: boolean;
}

/** Flux's reason for an unusable URL. */
export const URL_INVALID_REASON = 'URLInvalid';

const MAX_SHOWN = 120;

/** Parses and checks a repository URL; throws a StallingError (`URLInvalid`) when unusable. */
export function parseGitUrl(raw: string, options: ParseGitUrlOptions = {}): ParsedGitUrl {
  const fail = (why: string): never => {
    throw new StallingError(URL_INVALID_REASON, `invalid Git URL '${shown(raw)}': ${why}`);
  };
  if (raw.startsWith('-')) fail('a URL must not start with "-"');
  // Control characters and whitespace could smuggle a second argument or a config line.
  if (/[\s\x00-\x1f\x7f]/.test(raw)) fail('whitespace and control characters are not allowed');
  if (/^[a-z][a-z0-9+.-]*::/i.test(raw)) fail('git remote helpers ("<transport>::<address>") are not allowed');

  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return fail(
      /^[^/@:]+@[^/:]+:/.test(raw)
        ? 'scp-like addresses are not supported, use ssh://user@host/path'
        : 'expected http://, https:// or ssh://',
    );
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (!isAllowedScheme(scheme, options.allowFile === true)) {
    return fail(`scheme '${scheme}' is not supported, expected http, https or ssh`);
  }
  if (scheme !== 'file') {
    if (parsed.hostname === '') fail('the host is missing');
    // ssh would read a host starting with "-" as an option.
    if (parsed.hostname.startsWith('-')) fail('the host must not start with "-"');
  }

  let userinfo: ParsedGitUrl['userinfo'];
  const username = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  if (scheme === 'ssh') {
    if (username.startsWith('-')) fail('the user must not start with "-"');
    parsed.password = '';
    if (parsed.username === '') parsed.username = 'git';
  } else {
    if (username !== '' || password !== '') userinfo = { username, password };
    parsed.username = '';
    parsed.password = '';
  }
  const host = parsed.host;
  return {
    url: parsed.toString(),
    scheme,
    host,
    origin: `${parsed.protocol}//${host}/`,
    ...(userinfo ? { userinfo } : {}),
  };
}

function isAllowedScheme(scheme: string, allowFile: boolean): scheme is GitScheme {
  return scheme === 'http' || scheme === 'https' || scheme === 'ssh' || (allowFile && scheme === 'file');
}

/** The URL for messages: without any userinfo, shortened. */
export function displayUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.password = '';
    if (u.protocol !== 'ssh:') u.username = '';
    return shown(u.toString());
  } catch {
    return shown(raw.replace(/\/\/[^/@]*@/, '//'));
  }
}

function shown(text: string): string {
  const clean = text.replace(/\/\/[^/@\s]*:[^/@\s]*@/, '//');
  return clean.length > MAX_SHOWN ? `${clean.slice(0, MAX_SHOWN)}…` : clean;
}
