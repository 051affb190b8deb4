import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TransientError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { buildCacheKey, buildKustomization } from '../../../services/kustomize/pipeline.ts';
import { Reason, type KustomizationDeps, type KustomizationObject, type KustomizationState } from '../types.ts';

/**
 * Runs the shared build pipeline; the artifact is extracted (in-process, from the store)
 * into a per-reconcile temp dir only when kustomize's output for it is not cached. Decrypted data only ever lives in that dir, which the
 * controller's cleanup removes.
 */
export function buildStep(deps: KustomizationDeps): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'build',
    async run(ctx) {
      const artifact = ctx.state.artifact;
      if (!artifact) return;
      const root = async (): Promise<string> => {
        ctx.state.workDir = await mkdtemp(path.join(os.tmpdir(), 'flotilla-ks-'));
        const dir = path.join(ctx.state.workDir, 'src');
        try {
          await deps.store.extractTo(artifact, dir);
        } catch (e) {
          throw new TransientError(Reason.ArtifactFailed, `failed to read artifact of revision '${artifact.revision}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
        return dir;
      };
      ctx.state.objects = await buildKustomization({
        root,
        cache: { store: deps.buildCache, key: buildCacheKey(artifact.digest, ctx.obj.spec) },
        spec: ctx.obj.spec,
        namespace: ctx.obj.metadata.namespace ?? 'default',
        client: deps.client,
        kubectl: deps.kubectl,
        noRemoteBases: deps.noRemoteBases,
        strictSubstitution: deps.strictSubstitution,
        secrets: 'decrypt',
      });
      ctx.state.buildDigest = `sha256:${createHash('sha256').update(JSON.stringify(ctx.state.objects)).digest('hex')}`;
    },
  };
}
