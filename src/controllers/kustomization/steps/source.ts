import { durationOr, formatDuration } from '../../../runtime/duration.ts';
import { StallingError, WaitingError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import type { ClientFactory } from '../../../services/tenancy/clients.ts';
import { Reason, type KustomizationObject, type KustomizationState, type Lookup, type SourceObject } from '../types.ts';

/** Resolves `sourceRef` to the source's current artifact. */
export function sourceStep(clients: ClientFactory, lookup: Lookup<SourceObject>): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'source',
    async run(ctx) {
      const ref = ctx.obj.spec.sourceRef;
      const ns = ctx.obj.metadata.namespace ?? 'default';
      const srcNs = ref.namespace ?? ns;
      const desc = `${ref.kind} '${srcNs}/${ref.name}'`;
      if (ref.kind === 'Bucket' || ref.kind === 'ExternalArtifact') {
        throw new StallingError(Reason.ArtifactFailed, `sourceRef kind '${ref.kind}' is not supported by Flotilla yet: use a GitRepository or an OCIRepository`);
      }
      clients.checkReference(ns, srcNs, `source ${desc}`);
      const source = lookup(ref.kind, srcNs, ref.name);
      if (!source) throw new WaitingError(Reason.ArtifactFailed, `Source ${desc} not found`);
      const artifact = source.status?.artifact;
      if (!artifact) throw new WaitingError(Reason.ArtifactFailed, `Source ${desc} is not ready, artifact not found`);
      ctx.state.artifact = artifact;
      ctx.status['lastAttemptedRevision'] = artifact.revision;
      // new work (a spec change or a new revision): say so now, not when it is done, so that
      // `kubectl wait --for=condition=Ready` cannot pass on the previous outcome
      const status = ctx.obj.status;
      if (status?.observedGeneration !== ctx.obj.metadata.generation || status?.['lastAppliedRevision'] !== artifact.revision) {
        const timeout = formatDuration(durationOr(ctx.obj.spec.timeout, durationOr(ctx.obj.spec.interval, 5 * 60_000)));
        await ctx.progress(`Fetching manifests for revision ${artifact.revision} with a timeout of ${timeout}`);
      }
    },
  };
}
