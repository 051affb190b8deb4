import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { durationOr } from '../../../runtime/duration.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { Cond, Reason, checkoutKey, type GitRepositoryDeps, type GitRepositoryObject, type GitRepositoryState } from '../types.ts';

/** Shallow fetch of exactly the resolved ref into a per-reconcile temp dir. */
export function checkoutStep(deps: GitRepositoryDeps): Step<GitRepositoryObject, GitRepositoryState> {
  return {
    name: 'checkout',
    async run(ctx) {
      const { spec } = ctx.obj;
      const resolved = ctx.state.resolved;
      if (ctx.state.upToDate || !resolved) return;
      const key = checkoutKey(spec, resolved.commit);
      const same = key ? deps.sameCheckout.get(key) : undefined;
      if (same && (await deps.store.has(same))) {
        ctx.state.reuse = same;
        ctx.clear(Cond.FetchFailed);
        return;
      }
      const dir = await mkdtemp(path.join(os.tmpdir(), 'flotilla-git-'));
      ctx.state.workDir = dir;
      try {
        const res = await deps.git.checkout(spec.url, ctx.state.auth, resolved, path.join(dir, 'src'), {
          timeoutMs: durationOr(spec.timeout, 60_000),
          ...(spec.recurseSubmodules ? { recurseSubmodules: true } : {}),
          ...(spec.sparseCheckout?.length ? { sparseCheckout: spec.sparseCheckout } : {}),
          ...(ctx.state.proxy ? { proxy: ctx.state.proxy } : {}),
        });
        ctx.state.resolved = { ...resolved, commit: res.commit, revision: res.revision };
        ctx.state.commitSubject = res.message.split('\n')[0] ?? '';
      } catch (e) {
        const err = e as { reason?: string; message?: string };
        ctx.condition(Cond.FetchFailed, 'True', err.reason ?? Reason.GitOperationFailed, err.message ?? String(e));
        throw e;
      }
      ctx.clear(Cond.FetchFailed);
    },
  };
}
