/**
 * Scrubbing of credentials from text that may reach a status, an event or a log line.
 * Git prints URLs and sometimes headers in its errors; anything derived from a Secret is
 * removed here before a message leaves the git service.
 */
import type { GitAuth, GitProxy } from './types.ts';

const MASK = '***';

/**
 * Values shorter than this are not searched for: masking every "a" of a message would make
 * it unreadable, and such values are not meaningful secrets. Credentials in URLs and
 * Authorization headers are masked whatever their length (see {@link redact}).
 */
const MIN_SECRET_LENGTH = 4;

/** Lines of a PEM or OpenSSH key body shorter than this are not masked on their own. */
const MIN_KEY_LINE_LENGTH = 16;

/**
 * Replaces every occurrence of each secret (and of its URL-encoded and base64 forms) in
 * `text` with `***`, then masks URL userinfo passwords and Authorization header values.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const needles = new Set<string>();
  for (const secret of secrets) {
    for (const form of secretForms(secret)) {
      if (form.length >= MIN_SECRET_LENGTH) needles.add(form);
    }
  }
  // Longest first, so that a secret containing another one is masked whole.
  let out = text;
  for (const needle of [...needles].sort((a, b) => b.length - a.length)) {
    out = out.split(needle).join(MASK);
  }
  return out
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/@:'"]*):[^\s/@'"]*@/gi, `$1:${MASK}@`)
    .replace(/((?:proxy-)?authorization:\s*(?:basic|bearer|token)?\s*)[^\s'"]+/gi, `$1${MASK}`);
}

function secretForms(secret: string): string[] {
  const trimmed = secret.trim();
  const forms = [secret, trimmed, encodeURIComponent(trimmed), Buffer.from(trimmed, 'utf8').toString('base64')];
  if (trimmed.includes('\n')) {
    // A key may be echoed one line at a time; mask each substantial line of its body.
    for (const line of trimmed.split(/\r?\n/)) {
      const body = line.trim();
      if (body.length >= MIN_KEY_LINE_LENGTH && !body.startsWith('-----')) forms.push(body);
    }
  }
  return forms;
}

/** Every secret value carried by `auth` (and `proxy`), for {@link redact}. */
export function secretsOf(auth: GitAuth, proxy?: GitProxy): string[] {
  const secrets: string[] = [];
  switch (auth.type) {
    case 'basic':
      secrets.push(auth.password, `${auth.username}:${auth.password}`);
      break;
    case 'bearer':
      secrets.push(auth.token);
      break;
    case 'ssh':
      secrets.push(auth.identity);
      if (auth.password !== undefined) secrets.push(auth.password);
      break;
    case 'none':
      break;
  }
  if (auth.type !== 'ssh' && auth.tls?.keyPem !== undefined) secrets.push(auth.tls.keyPem);
  if (proxy?.password !== undefined) {
    secrets.push(proxy.password);
    if (proxy.username !== undefined) secrets.push(`${proxy.username}:${proxy.password}`);
  }
  return secrets.filter((s) => s.length > 0);
}
