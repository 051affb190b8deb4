import { mkdir, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TransientError, isReconcileError } from '../../../runtime/errors.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { extractTarGz } from '../../../services/artifacts/index.ts';
import { OciSession, type OciDescriptor } from '../../../services/oci/index.ts';
import { Cond, KIND, Reason, layerSelector, type OCIRepositoryDeps, type OCIRepositoryObject, type OCIRepositoryState } from '../types.ts';
import { registryFailure } from './resolve.ts';

/** Pulls the manifest and the selected layer, stores it (extracted or as is), and records it in status. */
export function pullStep(deps: OCIRepositoryDeps): Step<OCIRepositoryObject, OCIRepositoryState> {
  return {
    name: 'pull',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const ns = metadata.namespace ?? 'default';
      const { connection: conn, digest, revision } = ctx.state;
      if (!conn || !digest || !revision) return;
      if (ctx.state.upToDate) {
        ctx.condition(Cond.ArtifactInStorage, 'True', Reason.Succeeded, `stored artifact for digest '${revision}'`);
        return;
      }
      const selector = layerSelector(spec);
      const session = new OciSession(conn);
      const work = await mkdtemp(path.join(os.tmpdir(), 'flotilla-oci-'));
      ctx.state.workDir = work;
      let layer: OciDescriptor | undefined;
      let annotations: Record<string, string> | undefined;
      const blob = path.join(work, 'layer');
      try {
        const { manifest } = await session.manifest(digest);
        annotations = manifest.annotations;
        const layers = manifest.layers ?? [];
        layer = selector.mediaType ? layers.find((l) => l.mediaType === selector.mediaType) : layers[0];
        if (!layer) {
          const msg = selector.mediaType
            ? `the artifact '${revision}' has no layer of media type '${selector.mediaType}' (it has: ${layers.map((l) => l.mediaType).join(', ') || 'no layers'})`
            : `the artifact '${revision}' has no layers`;
          ctx.condition(Cond.FetchFailed, 'True', Reason.OCIArtifactLayerOperationFailed, msg);
          throw new TransientError(Reason.OCIArtifactLayerOperationFailed, msg);
        }
        await session.blobToFile(layer, blob, deps.maxLayerBytes);
      } catch (e) {
        if (isReconcileError(e)) throw e;
        registryFailure(ctx, e);
      }
      ctx.clear(Cond.FetchFailed);

      let artifact;
      try {
        if (selector.operation === 'copy') {
          artifact = await deps.store.putFile({ kind: KIND, namespace: ns, name: metadata.name, revision, sourceFile: blob });
        } else {
          const dir = path.join(work, 'src');
          await mkdir(dir);
          try {
            await extractTarGz(blob, dir);
          } catch (e) {
            const msg = `failed to extract layer ${layer?.digest ?? ''} of '${revision}': ${e instanceof Error ? e.message : String(e)}`;
            ctx.condition(Cond.FetchFailed, 'True', Reason.OCIArtifactLayerOperationFailed, msg);
            throw new TransientError(Reason.OCIArtifactLayerOperationFailed, msg, { cause: e });
          }
          artifact = await deps.store.put({ kind: KIND, namespace: ns, name: metadata.name, revision, sourceDir: dir, ...(spec.ignore !== undefined ? { ignore: spec.ignore } : {}) });
        }
      } catch (e) {
        if (isReconcileError(e)) throw e;
        const msg = `failed to store the artifact of '${revision}': ${e instanceof Error ? e.message : String(e)}`;
        ctx.condition(Cond.StorageOperationFailed, 'True', Reason.StorageOperationFailed, msg);
        throw new TransientError(Reason.StorageOperationFailed, msg, { cause: e });
      }
      const previous = (ctx.status['artifact'] as { revision?: string } | undefined)?.revision;
      ctx.state.artifact = artifact;
      ctx.status['artifact'] = { ...artifact, ...(annotations && Object.keys(annotations).length ? { metadata: annotations } : {}) };
      ctx.status['url'] = artifact.url;
      ctx.status['observedIgnore'] = spec.ignore;
      ctx.status['observedLayerSelector'] = selector;
      ctx.clear(Cond.StorageOperationFailed);
      ctx.clear(Cond.ArtifactOutdated);
      ctx.condition(Cond.ArtifactInStorage, 'True', Reason.Succeeded, `stored artifact for digest '${revision}'`);
      if (previous !== revision) ctx.event('Normal', 'NewArtifact', `stored artifact with revision '${revision}' from '${spec.url}'`, { revision });
      await deps.store.gc(KIND, ns, metadata.name, [artifact.path]).catch((e: unknown) => ctx.log.warn({ err: String(e) }, 'artifact garbage collection failed'));
    },
  };
}
