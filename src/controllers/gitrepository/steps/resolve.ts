import { durationOr } from '../../../runtime/duration.ts';
import type { Step, StepContext } from '../../../runtime/reconcile/types.ts';
import { DEFAULT_BRANCH } from '../../../services/git/refs.ts';
import { verifyMode } from './verify.ts';
import { Cond, Reason, urlSeen, type GitRepositoryDeps, type GitRepositoryObject, type GitRepositoryState } from '../types.ts';

type Ctx = StepContext<GitRepositoryObject, GitRepositoryState>;

const storedArtifact = (ctx: Ctx) => ctx.status['artifact'] as { revision?: string; path?: string; digest?: string } | undefined;

/**
 * One `git ls-remote`: the whole cost of a poll that finds nothing new. When the remote
 * revision and every input of the artifact match what is stored, the fetch is skipped.
 */
export async function resolveRemote(deps: GitRepositoryDeps, ctx: Ctx): Promise<void> {
  const { spec } = ctx.obj;
  try {
    ctx.state.resolved = await deps.git.resolveRef(spec.url, ctx.state.auth, spec.ref, {
      timeoutMs: durationOr(spec.timeout, 60_000),
      ...(ctx.state.proxy ? { proxy: ctx.state.proxy } : {}),
    });
  } catch (e) {
    const err = e as { reason?: string; message?: string };
    ctx.condition(Cond.FetchFailed, 'True', err.reason ?? Reason.GitOperationFailed, err.message ?? String(e));
    throw e;
  }
  const current = storedArtifact(ctx);
  const sameInputs =
    (ctx.status['observedIgnore'] ?? undefined) === (spec.ignore ?? undefined) &&
    JSON.stringify(ctx.status['observedInclude'] ?? []) === JSON.stringify(spec.include ?? []) &&
    (ctx.status['observedRecurseSubmodules'] ?? false) === (spec.recurseSubmodules ?? false) &&
    JSON.stringify(ctx.status['observedSparseCheckout'] ?? []) === JSON.stringify(spec.sparseCheckout ?? []) &&
    // verification turned on or changed: the stored artifact was not verified this way
    (ctx.status['sourceVerificationMode'] ?? undefined) === verifyMode(spec);
  const stored = current?.path ? await deps.store.has(current as never) : false;
  ctx.state.upToDate = sameInputs && stored && current?.revision === ctx.state.resolved.revision && !(spec.include?.length);
  if (!ctx.state.upToDate && current?.revision && current.revision !== ctx.state.resolved.revision) {
    ctx.condition(Cond.ArtifactOutdated, 'True', Reason.NewRevision, `new upstream revision '${ctx.state.resolved.revision}'`);
  }
  if (ctx.state.upToDate) {
    ctx.log.debug({ revision: ctx.state.resolved.revision }, 'artifact up-to-date with remote revision');
    ctx.clear(Cond.FetchFailed);
    ctx.clear(Cond.ArtifactOutdated);
  }
}

export function resolveStep(deps: GitRepositoryDeps): Step<GitRepositoryObject, GitRepositoryState> {
  return {
    name: 'resolve',
    async run(ctx) {
      const { spec } = ctx.obj;
      const ref = spec.ref ?? {};
      // Nothing stored yet, so the fetch cannot be skipped, and fetching a branch by name
      // resolves it as well: no ls-remote first. Unless another GitRepository fetched this
      // repository lately; then the ls-remote may find its checkout to share.
      const firstBranchFetch = !storedArtifact(ctx)?.path && !ref.commit && !ref.name && !ref.semver && !ref.tag && !spec.include?.length;
      if (firstBranchFetch && !urlSeen(deps.sameCheckout, spec.url)) {
        ctx.state.direct = { kind: 'branch', refName: `refs/heads/${ref.branch || DEFAULT_BRANCH}` };
        return;
      }
      await resolveRemote(deps, ctx);
    },
  };
}
