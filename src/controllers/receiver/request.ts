/**
 * Who may call a Receiver's webhook: each type's authentication and event filter, as the
 * sender signs its requests. Pure functions over the request's headers and body.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SupportedType } from './types.ts';

export class RequestRefused extends Error {}

export type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `sha256=<hex>` (or sha1, sha512) over `body` with `token`. */
function checkHmac(signature: string, body: Buffer, token: string, what: string): void {
  const m = /^(sha1|sha256|sha512)=([0-9a-fA-F]+)$/.exec(signature.trim());
  if (!m) throw new RequestRefused(`the ${what} signature header is missing or malformed`);
  const expected = createHmac(m[1] as string, token).update(body).digest('hex');
  if (!sameText(expected, (m[2] as string).toLowerCase())) throw new RequestRefused(`the ${what} signature does not match the receiver token`);
}

function checkEvent(event: string, allowed: readonly string[] | undefined, who: string): void {
  if (!allowed?.length) return;
  if (!allowed.some((e) => e.toLowerCase() === event.toLowerCase())) throw new RequestRefused(`the ${who} event '${event}' is not authorised`);
}

/** Throws RequestRefused when the request does not authenticate as `type` or its event is not wanted. */
export function checkRequest(type: SupportedType, headers: Headers, body: Buffer, token: string, events: readonly string[] | undefined): void {
  switch (type) {
    case 'generic':
      return;
    case 'generic-hmac':
      return checkHmac(header(headers, 'X-Signature'), body, token, 'X-Signature');
    case 'github': {
      const sig256 = header(headers, 'X-Hub-Signature-256');
      checkHmac(sig256 || header(headers, 'X-Hub-Signature'), body, token, 'GitHub');
      return checkEvent(header(headers, 'X-GitHub-Event'), events, 'GitHub');
    }
    case 'gitlab':
      if (!sameText(header(headers, 'X-Gitlab-Token'), token)) throw new RequestRefused('the X-Gitlab-Token header value does not match the receiver token');
      return checkEvent(header(headers, 'X-Gitlab-Event'), events, 'GitLab');
    case 'bitbucket':
      checkHmac(header(headers, 'X-Hub-Signature'), body, token, 'Bitbucket');
      return checkEvent(header(headers, 'X-Event-Key'), events, 'Bitbucket');
    case 'harbor':
      if (!sameText(header(headers, 'Authorization'), token)) throw new RequestRefused('the Authorization header value does not match the receiver token');
      return;
  }
}
