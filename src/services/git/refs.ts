/**
 * The pure half of ref resolution: which refs to ask the remote for, how to pick the
 * answer out of `git ls-remote`'s output, and Flux's revision strings.
 */
import { StallingError } from '../../runtime/errors.ts';
import { InvalidFluxRangeError, parseFluxRange, sortMatching } from '../semver/flux-range.ts';
import type { GitRef, GitRefKind, ResolvedRef } from './types.ts';

export const GIT_OPERATION_FAILED_REASON = 'GitOperationFailed';

/** Flux's branch when the GitRepository has no `ref`. */
export const DEFAULT_BRANCH = 'master';

const PEELED_SUFFIX = '^{}';

/** The ref spec with Flux's precedence applied: only the field that wins is kept (commit keeps its branch). */
export type EffectiveRef =
  | { kind: 'commit'; commit: string; branch?: string }
  | { kind: 'name'; name: string }
  | { kind: 'semver'; range: string }
  | { kind: 'tag'; tag: string }
  | { kind: 'branch'; branch: string };

/** Applies Flux's precedence: commit > name > semver > tag > branch (default `master`). */
export function effectiveRef(ref: GitRef | undefined): EffectiveRef {
  const r = ref ?? {};
  if (r.commit) return { kind: 'commit', commit: r.commit, ...(r.branch ? { branch: r.branch } : {}) };
  if (r.name) return { kind: 'name', name: r.name };
  if (r.semver) return { kind: 'semver', range: r.semver };
  if (r.tag) return { kind: 'tag', tag: r.tag };
  return { kind: 'branch', branch: r.branch || DEFAULT_BRANCH };
}

/** Validates the ref's names (before they reach git); throws a StallingError. */
export function validateRef(ref: EffectiveRef): void {
  const invalid = (what: string, value: string, why: string): never => {
    throw new StallingError(GIT_OPERATION_FAILED_REASON, `invalid ${what} '${value}': ${why}`);
  };
  switch (ref.kind) {
    case 'commit':
      if (!isCommitId(ref.commit)) invalid('ref.commit', ref.commit, 'expected a full commit id (40 or 64 hexadecimal characters)');
      if (ref.branch !== undefined) checkRefComponent('ref.branch', ref.branch, invalid);
      return;
    case 'name': {
      const name = ref.name.endsWith(PEELED_SUFFIX) ? ref.name.slice(0, -PEELED_SUFFIX.length) : ref.name;
      if (!name.startsWith('refs/')) invalid('ref.name', ref.name, "expected a full ref name starting with 'refs/'");
      checkRefComponent('ref.name', name, invalid);
      return;
    }
    case 'semver':
      try {
        parseFluxRange(ref.range);
      } catch (e: unknown) {
        if (e instanceof InvalidFluxRangeError) {
          throw new StallingError(GIT_OPERATION_FAILED_REASON, `invalid ref.semver: ${e.message}`);
        }
        throw e;
      }
      return;
    case 'tag':
      checkRefComponent('ref.tag', ref.tag, invalid);
      return;
    case 'branch':
      checkRefComponent('ref.branch', ref.branch, invalid);
      return;
  }
}

/** The rules of `git check-ref-format` that matter here, plus no leading "-". */
function checkRefComponent(what: string, name: string, invalid: (what: string, value: string, why: string) => never): void {
  if (name.startsWith('-')) invalid(what, name, 'must not start with "-"');
  if (name.startsWith('/') || name.endsWith('/')) invalid(what, name, 'must not begin or end with "/"');
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) invalid(what, name, 'must not contain spaces, control characters or any of ~ ^ : ? * [ \\');
  if (name.includes('..') || name.includes('//') || name.includes('@{') || name === '@') {
    invalid(what, name, 'must not contain "..", "//" or "@{"');
  }
  if (name.endsWith('.') || name.endsWith('.lock') || name.split('/').some((part) => part.startsWith('.'))) {
    invalid(what, name, 'is not a valid Git ref name');
  }
}

export function isCommitId(text: string): boolean {
  return /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(text);
}

/** The ls-remote patterns that answer `ref` (exact names; git filters on the server side where it can). */
export function lsRemotePatterns(ref: EffectiveRef): string[] {
  switch (ref.kind) {
    case 'commit':
      return ref.branch !== undefined ? [`refs/heads/${ref.branch}`] : ['HEAD'];
    case 'name': {
      const name = ref.name.endsWith(PEELED_SUFFIX) ? ref.name.slice(0, -PEELED_SUFFIX.length) : ref.name;
      return [name, name + PEELED_SUFFIX];
    }
    case 'semver':
      return ['refs/tags/*'];
    case 'tag':
      return [`refs/tags/${ref.tag}`, `refs/tags/${ref.tag}${PEELED_SUFFIX}`];
    case 'branch':
      return [`refs/heads/${ref.branch}`];
  }
}

/** Why a ref could not be found; the client turns it into a GitOperationError with the URL. */
export class RefNotFound extends Error {
  constructor(readonly description: string) {
    super(description);
    this.name = 'RefNotFound';
  }
}

/**
 * Picks the resolved ref out of ls-remote's answer. Annotated tags resolve to the commit
 * they point to. Throws {@link RefNotFound} when the remote does not have it.
 */
export function pickResolvedRef(ref: EffectiveRef, refs: ReadonlyMap<string, string>): ResolvedRef {
  switch (ref.kind) {
    case 'commit': {
      if (ref.branch !== undefined) {
        const refName = `refs/heads/${ref.branch}`;
        if (!refs.has(refName)) throw new RefNotFound(`branch '${ref.branch}'`);
        return resolved('commit', refName, ref.commit);
      }
      return resolved('commit', undefined, ref.commit);
    }
    case 'name': {
      const name = ref.name.endsWith(PEELED_SUFFIX) ? ref.name.slice(0, -PEELED_SUFFIX.length) : ref.name;
      const commit = peeled(refs, name);
      if (commit === undefined) throw new RefNotFound(`ref '${ref.name}'`);
      return resolved('name', name, commit);
    }
    case 'semver': {
      const tags: string[] = [];
      for (const refName of refs.keys()) {
        if (refName.startsWith('refs/tags/') && !refName.endsWith(PEELED_SUFFIX)) tags.push(refName.slice('refs/tags/'.length));
      }
      const tag = sortMatching(tags, ref.range)[0];
      if (tag === undefined) throw new RefNotFound(`a tag matching semver range '${ref.range}'`);
      const refName = `refs/tags/${tag}`;
      const commit = peeled(refs, refName);
      if (commit === undefined) throw new RefNotFound(`tag '${tag}'`);
      return resolved('semver', refName, commit);
    }
    case 'tag': {
      const refName = `refs/tags/${ref.tag}`;
      const commit = peeled(refs, refName);
      if (commit === undefined) throw new RefNotFound(`tag '${ref.tag}'`);
      return resolved('tag', refName, commit);
    }
    case 'branch': {
      const refName = `refs/heads/${ref.branch}`;
      const commit = refs.get(refName);
      if (commit === undefined) throw new RefNotFound(`branch '${ref.branch}'`);
      return resolved('branch', refName, commit);
    }
  }
}

function peeled(refs: ReadonlyMap<string, string>, refName: string): string | undefined {
  return refs.get(refName + PEELED_SUFFIX) ?? refs.get(refName);
}

function resolved(kind: GitRefKind, refName: string | undefined, commit: string): ResolvedRef {
  return {
    kind,
    ...(refName !== undefined ? { refName } : {}),
    commit,
    revision: formatRevision(kind, refName, commit),
  };
}

/** `sha1:<hex>` or `sha256:<hex>`, by the length of the id (Flux's `Hash.Digest`). */
export function commitDigest(commit: string): string {
  return `${commit.length === 64 ? 'sha256' : 'sha1'}:${commit}`;
}

/**
 * Flux's revision: the ref's short name (`main`, `feature/x`, `v1.0.0`) `@` the digest;
 * the full ref name for `ref.name`; the digest alone for a bare commit.
 */
export function formatRevision(kind: GitRefKind, refName: string | undefined, commit: string): string {
  const digest = commitDigest(commit);
  if (refName === undefined) return digest;
  if (kind === 'name') return `${refName}@${digest}`;
  // Like Flux, drop the first two components: refs/heads/feature/x -> feature/x.
  const parts = refName.split('/');
  return parts.length >= 3 ? `${parts.slice(2).join('/')}@${digest}` : digest;
}

/**
 * Brings a revision written by an older Flux (`main/<hex>`, bare `<hex>`) to the current
 * format, so that a status written by Flux compares equal to the same revision resolved here.
 */
export function normalizeRevision(revision: string): string {
  if (isCommitId(revision)) return commitDigest(revision);
  const legacy = /^(.+)\/([0-9a-f]{40}|[0-9a-f]{64})$/.exec(revision);
  if (legacy && !revision.includes('@')) return `${legacy[1]}@${commitDigest(legacy[2] ?? '')}`;
  return revision;
}

/** The commit id inside a revision string, if any. */
export function commitOfRevision(revision: string): string | undefined {
  const m = /(?:^|@)sha(?:1|256):([0-9a-f]{40}|[0-9a-f]{64})$/.exec(normalizeRevision(revision));
  return m?.[1];
}
