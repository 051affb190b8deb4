import path from 'node:path';
import { TransientError, isReconcileError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { Cond, KIND, Reason, checkoutKey, type GitRepositoryDeps, type GitRepositoryObject, type GitRepositoryState } from '../types.ts';

/** Archives the checkout into the artifact store, records it in status, collects garbage. */
export function storeStep(deps: GitRepositoryDeps): Step<GitRepositoryObject, GitRepositoryState> {
  return {
    name: 'store',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const ns = metadata.namespace ?? 'default';
      const resolved = ctx.state.resolved;
      if (!resolved) return;
      if (ctx.state.upToDate || (!ctx.state.workDir && !ctx.state.reuse)) {
        ctx.condition(Cond.ArtifactInStorage, 'True', Reason.Succeeded, `stored artifact for revision '${resolved.revision}'`);
        return;
      }
      const previous = (ctx.status['artifact'] as { revision?: string } | undefined)?.revision;
      let artifact;
      try {
        artifact = ctx.state.reuse
          ? await deps.store.putFile({ kind: KIND, namespace: ns, name: metadata.name, revision: resolved.revision, sourceFile: deps.store.localPath(ctx.state.reuse.path) })
          : await deps.store.put({
              kind: KIND,
              namespace: ns,
              name: metadata.name,
              revision: resolved.revision,
              sourceDir: path.join(ctx.state.workDir ?? '', 'src'),
              ...(spec.ignore !== undefined ? { ignore: spec.ignore } : {}),
            });
        const key = checkoutKey(spec, resolved.commit);
        if (key && !ctx.state.reuse) {
          deps.sameCheckout.set(key, artifact);
          // bounded: only recent checkouts are worth sharing
          if (deps.sameCheckout.size > 1000) deps.sameCheckout.delete(deps.sameCheckout.keys().next().value as string);
        }
      } catch (e) {
        const reason = isReconcileError(e) ? e.reason : Reason.ArchiveOperationFailed;
        const message = `failed to archive revision '${resolved.revision}': ${e instanceof Error ? e.message : String(e)}`;
        ctx.condition(Cond.StorageOperationFailed, 'True', reason, message);
        // the content is wrong (say a symlink leaving the repository): a new commit fixes it,
        // so keep polling instead of stalling; the previous artifact stays served
        throw new TransientError(reason, message, { cause: e });
      }
      ctx.state.artifact = artifact;
      ctx.status['artifact'] = artifact;
      ctx.status['includedArtifacts'] = ctx.state.included.length ? ctx.state.included : undefined;
      ctx.status['observedIgnore'] = spec.ignore;
      ctx.status['observedInclude'] = spec.include?.length ? spec.include : undefined;
      ctx.status['observedRecurseSubmodules'] = spec.recurseSubmodules || undefined;
      ctx.status['observedSparseCheckout'] = spec.sparseCheckout?.length ? spec.sparseCheckout : undefined;
      ctx.clear(Cond.StorageOperationFailed);
      ctx.clear(Cond.ArtifactOutdated);
      ctx.condition(Cond.ArtifactInStorage, 'True', Reason.Succeeded, `stored artifact for revision '${resolved.revision}'`);
      if (previous !== artifact.revision) {
        const subject = ctx.state.commitSubject ? `stored artifact for commit '${ctx.state.commitSubject}'` : `stored artifact for revision '${artifact.revision}'`;
        ctx.event('Normal', 'NewArtifact', subject, { revision: artifact.revision });
      }
      await deps.store.gc(KIND, ns, metadata.name, [artifact.path]).catch((e: unknown) => ctx.log.warn({ err: String(e) }, 'artifact garbage collection failed'));
    },
  };
}
