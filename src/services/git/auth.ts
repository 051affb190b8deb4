/**
 * From a Secret's data to {@link GitAuth}, with Flux's keys and rules:
 * - SSH URLs: `identity` and `known_hosts` (both required), optional `password` (passphrase);
 * - HTTP(S) URLs: `bearerToken`, or `username` + `password`; TLS with `ca.crt` (legacy
 *   `caFile`) and `tls.crt` + `tls.key`; credentials written in the URL are used when the
 *   Secret has none.
 * An incomplete Secret is a StallingError with reason `AuthenticationFailed`: retrying
 * cannot help until the Secret changes (and a Secret change requeues the object).
 */
import { StallingError } from '../../runtime/errors.ts';
import { parseGitUrl, type ParseGitUrlOptions } from './git-url.ts';
import type { GitAuth, GitProxy, HttpsTls } from './types.ts';

export const AUTHENTICATION_FAILED_REASON = 'AuthenticationFailed';

/** Decodes the base64 values of a Secret's `data`. */
export function decodeSecretData(data: Readonly<Record<string, string>>): Record<string, string> {
  const decoded: Record<string, string> = {};
  for (const [key, value] of Object.entries(data)) {
    decoded[key] = Buffer.from(value, 'base64').toString('utf8');
  }
  return decoded;
}

/**
 * Builds the auth for `url` from a Secret's `data` (base64 values, as the API returns them),
 * or from no Secret at all (`undefined`).
 */
export function authFromSecretData(
  data: Readonly<Record<string, string>> | undefined,
  url: string,
  options: ParseGitUrlOptions = {},
): GitAuth {
  return authFromSecretValues(data === undefined ? undefined : decodeSecretData(data), url, options);
}

/** Same as {@link authFromSecretData} with already decoded values. */
export function authFromSecretValues(
  values: Readonly<Record<string, string>> | undefined,
  url: string,
  options: ParseGitUrlOptions = {},
): GitAuth {
  const parsed = parseGitUrl(url, options);
  const v = values ?? {};
  const present = (key: string): string | undefined => {
    const value = v[key];
    return value === undefined || value === '' ? undefined : value;
  };
  const incomplete = (message: string): never => {
    throw new StallingError(AUTHENTICATION_FAILED_REASON, message);
  };

  if (parsed.scheme === 'ssh') {
    const identity = present('identity');
    const knownHosts = present('known_hosts');
    const missing = [identity === undefined ? "'identity'" : undefined, knownHosts === undefined ? "'known_hosts'" : undefined].filter(
      (k): k is string => k !== undefined,
    );
    if (identity === undefined || knownHosts === undefined) {
      return incomplete(
        values === undefined
          ? `an SSH URL needs a secretRef with 'identity' and 'known_hosts'`
          : `SSH authentication needs 'identity' and 'known_hosts' in the Secret; missing ${missing.join(' and ')}`,
      );
    }
    const password = present('password');
    return { type: 'ssh', identity, knownHosts, ...(password !== undefined ? { password } : {}) };
  }

  const tls = tlsFrom(present, incomplete);
  const withTls = tls ? { tls } : {};
  const token = present('bearerToken');
  if (token !== undefined) {
    if (parsed.userinfo) {
      return incomplete('a bearer token and credentials in the URL cannot be used together; remove the user from the URL');
    }
    return { type: 'bearer', token, ...withTls };
  }
  const username = present('username') ?? parsed.userinfo?.username;
  const password = present('password') ?? parsed.userinfo?.password;
  if (password !== undefined && (username === undefined || username === '')) {
    return incomplete("'password' requires 'username' to be set in the Secret");
  }
  if (username !== undefined && username !== '') {
    return { type: 'basic', username, password: password ?? '', ...withTls };
  }
  return { type: 'none', ...withTls };
}

function tlsFrom(
  present: (key: string) => string | undefined,
  incomplete: (message: string) => never,
): HttpsTls | undefined {
  const caPem = present('ca.crt') ?? present('caFile');
  const certPem = present('tls.crt');
  const keyPem = present('tls.key');
  if ((certPem === undefined) !== (keyPem === undefined)) {
    incomplete(`client TLS needs both 'tls.crt' and 'tls.key' in the Secret; missing '${certPem === undefined ? 'tls.crt' : 'tls.key'}'`);
  }
  if (caPem === undefined && certPem === undefined) return undefined;
  return {
    ...(caPem !== undefined ? { caPem } : {}),
    ...(certPem !== undefined ? { certPem } : {}),
    ...(keyPem !== undefined ? { keyPem } : {}),
  };
}

/** Builds a proxy from a Flux `proxySecretRef` Secret's `data` (`address`, `username`, `password`). */
export function proxyFromSecretData(data: Readonly<Record<string, string>>): GitProxy {
  const v = decodeSecretData(data);
  const address = v.address;
  if (address === undefined || address === '') {
    throw new StallingError(AUTHENTICATION_FAILED_REASON, "the proxy Secret needs an 'address'");
  }
  let parsed: URL;
  try {
    parsed = new URL(address);
  } catch {
    throw new StallingError(AUTHENTICATION_FAILED_REASON, `the proxy 'address' is not a URL`);
  }
  if (!['http:', 'https:', 'socks5:', 'socks5h:'].includes(parsed.protocol)) {
    throw new StallingError(AUTHENTICATION_FAILED_REASON, `proxy scheme '${parsed.protocol.slice(0, -1)}' is not supported`);
  }
  return {
    url: address,
    ...(v.username ? { username: v.username } : {}),
    ...(v.password ? { password: v.password } : {}),
  };
}
