import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { durationOr } from '../../../runtime/duration.ts';
import type { Step, StepContext } from '../../../runtime/reconcile/types.ts';
import type { BranchTip, ResolvedRef } from '../../../services/git/types.ts';
import { Cond, Reason, checkoutKey, type GitRepositoryDeps, type GitRepositoryObject, type GitRepositoryState } from '../types.ts';
import { resolveRemote } from './resolve.ts';
import { verifiesTag } from './verify.ts';

type Ctx = StepContext<GitRepositoryObject, GitRepositoryState>;

/** Shallow fetch of exactly the resolved ref (or, on a first fetch, the branch) into a per-reconcile temp dir. */
export function checkoutStep(deps: GitRepositoryDeps): Step<GitRepositoryObject, GitRepositoryState> {
  return {
    name: 'checkout',
    async run(ctx) {
      if (ctx.state.direct) {
        try {
          await fetchInto(deps, ctx, ctx.state.direct);
          ctx.clear(Cond.FetchFailed);
          return;
        } catch (e) {
          // say what is wrong the usual way (a missing branch, refused credentials): the
          // ls-remote classifies it, or finds the commit after all
          ctx.log.debug({ err: e instanceof Error ? e.message : String(e) }, 'first fetch by branch name failed; resolving with ls-remote');
          if (ctx.state.workDir) await rm(ctx.state.workDir, { recursive: true, force: true });
          delete ctx.state.workDir;
          delete ctx.state.direct;
          await resolveRemote(deps, ctx);
        }
      }
      const resolved = ctx.state.resolved;
      if (ctx.state.upToDate || !resolved) return;
      const key = checkoutKey(ctx.obj.spec, resolved.commit);
      const same = key ? deps.sameCheckout.get(key) : undefined;
      if (same && (await deps.store.has(same))) {
        ctx.state.reuse = same;
        ctx.clear(Cond.FetchFailed);
        return;
      }
      try {
        await fetchInto(deps, ctx, resolved);
      } catch (e) {
        const err = e as { reason?: string; message?: string };
        ctx.condition(Cond.FetchFailed, 'True', err.reason ?? Reason.GitOperationFailed, err.message ?? String(e));
        throw e;
      }
      ctx.clear(Cond.FetchFailed);
    },
  };
}

async function fetchInto(deps: GitRepositoryDeps, ctx: Ctx, target: ResolvedRef | BranchTip): Promise<void> {
  const { spec } = ctx.obj;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'flotilla-git-'));
  ctx.state.workDir = dir;
  const res = await deps.git.checkout(spec.url, ctx.state.auth, target, path.join(dir, 'src'), {
    timeoutMs: durationOr(spec.timeout, 60_000),
    ...(spec.recurseSubmodules ? { recurseSubmodules: true } : {}),
    ...(verifiesTag(spec) ? { keepTag: true } : {}),
    ...(spec.sparseCheckout?.length ? { sparseCheckout: spec.sparseCheckout } : {}),
    ...(ctx.state.proxy ? { proxy: ctx.state.proxy } : {}),
  });
  ctx.state.resolved = { kind: target.kind, ...(res.refName !== undefined ? { refName: res.refName } : {}), commit: res.commit, revision: res.revision };
  ctx.state.commitSubject = res.message.split('\n')[0] ?? '';
}
