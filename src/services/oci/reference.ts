/**
 * The pure parts of talking to an OCI registry: `oci://` URLs, Docker config credentials,
 * `WWW-Authenticate` challenges, and Flux's choice of tag.
 */
import { latestMatching } from '../semver/flux-range.ts';

export interface OciRepositoryName {
  /** `host[:port]` */
  registry: string;
  /** The repository path, e.g. `org/manifests/app`. */
  repository: string;
}

export class InvalidOciReference extends Error {}

/** `oci://ghcr.io/org/app` → registry `ghcr.io`, repository `org/app`; no tag or digest allowed. */
export function parseOciUrl(url: string): OciRepositoryName {
  const m = /^oci:\/\/([^/\s]+)\/([^\s]+)$/.exec(url);
  if (!m) throw new InvalidOciReference(`'${url}' is not an OCI repository URL of the form oci://<registry>/<repository>`);
  const registry = (m[1] ?? '').toLowerCase();
  const repository = m[2] ?? '';
  if (/[@:]/.test(repository)) throw new InvalidOciReference(`'${url}' must not carry a tag or digest: use spec.ref`);
  if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(repository)) {
    throw new InvalidOciReference(`'${repository}' is not a valid repository name (lower-case letters, digits and . _ - /)`);
  }
  if (!/^[A-Za-z0-9.-]+(?::\d{1,5})?$/.test(registry) && !/^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/.test(registry)) {
    throw new InvalidOciReference(`'${registry}' is not a registry host`);
  }
  return { registry, repository };
}

const DOCKER_HUB = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** Docker Hub goes by several names; docker logins store it as https://index.docker.io/v1/. */
function dockerHub(host: string): string {
  return DOCKER_HUB.has(host) ? 'docker.io' : host;
}

/** The host that serves the registry API (Docker Hub's is registry-1.docker.io). */
export function apiHost(registry: string): string {
  return dockerHub(registry) === 'docker.io' ? 'registry-1.docker.io' : registry;
}

export interface BasicCredentials {
  username: string;
  password: string;
}

/** The credentials a `.dockerconfigjson` holds for `registry` (exact host, then with a scheme). */
export function credentialsFor(dockerConfigJson: string, registry: string): BasicCredentials | undefined {
  let doc: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    doc = JSON.parse(dockerConfigJson) as typeof doc;
  } catch {
    throw new InvalidOciReference('the .dockerconfigjson is not valid JSON');
  }
  const auths = doc.auths ?? {};
  const hostOf = (key: string): string => dockerHub(key.replace(/^https?:\/\//, '').replace(/\/.*$/, '').toLowerCase());
  const entry = Object.entries(auths).find(([k]) => hostOf(k) === dockerHub(registry))?.[1];
  if (!entry) return undefined;
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i > 0) return { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  return undefined;
}

export interface Challenge {
  scheme: 'bearer' | 'basic';
  params: Record<string, string>;
}

/** `Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"` */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/s.exec(header);
  const scheme = m?.[1]?.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? '').matchAll(/(\w+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))/g)) {
    params[(p[1] ?? '').toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme, params };
}

export interface OciRef {
  digest?: string;
  semver?: string;
  semverFilter?: string;
  tag?: string;
}

/** What to ask the registry for, with Flux's precedence: digest, then semver, then tag, then `latest`. */
export type Wanted = { kind: 'digest'; digest: string } | { kind: 'semver'; range: string; filter?: string } | { kind: 'tag'; tag: string };

export function wantedOf(ref: OciRef | undefined): Wanted {
  if (ref?.digest) {
    if (!/^sha256:[0-9a-f]{64}$/.test(ref.digest)) throw new InvalidOciReference(`'${ref.digest}' is not a sha256 digest`);
    return { kind: 'digest', digest: ref.digest };
  }
  if (ref?.semver) return { kind: 'semver', range: ref.semver, ...(ref.semverFilter ? { filter: ref.semverFilter } : {}) };
  return { kind: 'tag', tag: ref?.tag || 'latest' };
}

/** The highest tag in `range` (after `filter`), or undefined. */
export function pickSemverTag(tags: readonly string[], range: string, filter?: string): string | undefined {
  let re: RegExp | undefined;
  if (filter) {
    try {
      re = new RegExp(filter);
    } catch (e) {
      throw new InvalidOciReference(`semverFilter '${filter}' is not a valid regular expression: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return latestMatching(re ? tags.filter((t) => re.test(t)) : tags, range);
}

/** Flux's revision: `<tag>@sha256:<hex>`, or the digest alone when pulled by digest. */
export function revisionOf(wanted: Wanted, tag: string | undefined, digest: string): string {
  return wanted.kind === 'digest' || !tag ? digest : `${tag}@${digest}`;
}
