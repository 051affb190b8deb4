import { StallingError, TransientError } from '../../../runtime/errors.ts';
import type { Step, StepContext } from '../../../runtime/reconcile/types.ts';
import { InvalidFluxRangeError } from '../../../services/semver/flux-range.ts';
import { InvalidOciReference, OciError, OciSession, pickSemverTag, revisionOf } from '../../../services/oci/index.ts';
import { Cond, Reason, layerSelector, type OCIRepositoryObject, type OCIRepositoryState } from '../types.ts';

type Ctx = StepContext<OCIRepositoryObject, OCIRepositoryState>;

/** A registry failure as a condition and a classified error. */
export function registryFailure(ctx: Ctx, e: unknown): never {
  if (e instanceof OciError) {
    const reason = e.failure === 'authentication' ? Reason.AuthenticationFailed : Reason.OCIArtifactPullFailed;
    ctx.condition(Cond.FetchFailed, 'True', reason, e.message);
    throw new TransientError(reason, e.message);
  }
  throw e;
}

/**
 * What the reference points to now, at the cost of a tag list (semver only) and a HEAD:
 * when it is the stored artifact's revision, built with the same inputs, nothing is pulled.
 */
export function resolveStep(store: { has(a: { path: string }): Promise<boolean> }): Step<OCIRepositoryObject, OCIRepositoryState> {
  return {
    name: 'resolve',
    async run(ctx) {
      const { spec } = ctx.obj;
      const wanted = ctx.state.wanted;
      const conn = ctx.state.connection;
      if (!wanted || !conn) return;
      const session = new OciSession(conn);
      try {
        let reference: string;
        if (wanted.kind === 'digest') {
          reference = wanted.digest;
        } else if (wanted.kind === 'semver') {
          let tag: string | undefined;
          try {
            tag = pickSemverTag(await session.tags(), wanted.range, wanted.filter);
          } catch (e) {
            if (e instanceof InvalidFluxRangeError || e instanceof InvalidOciReference) throw new StallingError(Reason.InvalidSpec, e.message);
            throw e;
          }
          if (!tag) throw new OciError('notFound', `no tag of ${conn.name.registry}/${conn.name.repository} matches the semver range '${wanted.range}'${wanted.filter ? ` and filter '${wanted.filter}'` : ''}`);
          ctx.state.tag = tag;
          reference = tag;
        } else {
          ctx.state.tag = wanted.tag;
          reference = wanted.tag;
        }
        ctx.state.digest = await session.resolve(reference);
      } catch (e) {
        registryFailure(ctx, e);
      }
      const revision = revisionOf(wanted, ctx.state.tag, ctx.state.digest ?? '');
      ctx.state.revision = revision;
      const current = ctx.status['artifact'] as { revision?: string; path?: string } | undefined;
      const sameInputs =
        (ctx.status['observedIgnore'] ?? undefined) === (spec.ignore ?? undefined) &&
        JSON.stringify(ctx.status['observedLayerSelector'] ?? layerSelector({} as never)) === JSON.stringify(layerSelector(spec));
      ctx.state.upToDate = sameInputs && current?.revision === revision && !!current.path && (await store.has(current as { path: string }));
      if (current?.revision && current.revision !== revision) {
        ctx.condition(Cond.ArtifactOutdated, 'True', Reason.NewRevision, `new revision '${revision}' for '${spec.url}'`);
      }
      if (ctx.state.upToDate) {
        ctx.clear(Cond.FetchFailed);
        ctx.clear(Cond.ArtifactOutdated);
      }
    },
  };
}
