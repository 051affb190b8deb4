import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isNotFound } from '../../../runtime/client/errors.ts';
import type { KubeObject } from '../../../runtime/client/objects.ts';
import { StallingError, TransientError, WaitingError, isReconcileError } from '../../../runtime/errors.ts';
import { durationOr } from '../../../runtime/duration.ts';
import type { Step, StepContext } from '../../../runtime/reconcile/types.ts';
import { build, resolveBuildDir } from '../../../services/kustomize/build.ts';
import { applyCommonMetadata } from '../../../services/kustomize/common-metadata.ts';
import { collectVars, substitute, type VarSource } from '../../../services/kustomize/substitute.ts';
import { readSecret } from '../../../services/secrets/read.ts';
import { decryptFilesInDir, decryptObjects } from '../../../services/sops/decryptor.ts';
import { ageIdentitiesFromSecret } from '../../../services/sops/metadata.ts';
import { Reason, type KustomizationDeps, type KustomizationObject, type KustomizationState } from '../types.ts';

type Ctx = StepContext<KustomizationObject, KustomizationState>;

async function decryptionIdentities(deps: KustomizationDeps, ctx: Ctx): Promise<string[] | undefined> {
  const dec = ctx.obj.spec.decryption;
  if (!dec) return undefined;
  if (dec.provider !== 'sops') throw new StallingError(Reason.InvalidSpec, `decryption provider '${String(dec.provider)}' is not supported: use 'sops'`);
  if (!dec.secretRef) return [];
  const ns = ctx.obj.metadata.namespace ?? 'default';
  const values = await readSecret(deps.client, ns, dec.secretRef.name, Reason.BuildFailed, 'spec.decryption.secretRef');
  const ids = ageIdentitiesFromSecret({ stringData: values });
  if (!ids.length) {
    throw new StallingError(Reason.BuildFailed, `decryption secret '${ns}/${dec.secretRef.name}' has no age key: add an entry whose name ends in '.agekey'`);
  }
  return ids;
}

async function substitutionVars(deps: KustomizationDeps, ctx: Ctx): Promise<Record<string, string> | undefined> {
  const pb = ctx.obj.spec.postBuild;
  if (!pb) return undefined;
  const ns = ctx.obj.metadata.namespace ?? 'default';
  const sources: VarSource[] = [];
  for (const ref of pb.substituteFrom ?? []) {
    const kind = ref.kind as 'ConfigMap' | 'Secret';
    const obj = await deps.client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind, namespace: ns, name: ref.name }).catch((e: unknown) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    if (!obj) {
      if (ref.optional) continue;
      throw new WaitingError(Reason.BuildFailed, `substitute from ${kind} '${ns}/${ref.name}' failed: not found (mark it optional: true if it may be absent)`);
    }
    sources.push({ kind, name: ref.name, data: obj.data });
  }
  return collectVars(pb.substitute, sources);
}

/**
 * Extracts the artifact (in-process, from the store), decrypts SOPS files the generators
 * read, builds with kustomize (or the proven in-process path), decrypts SOPS Secrets,
 * runs post-build substitution and adds commonMetadata. Decrypted data only ever lives in
 * the per-reconcile temp dir, removed by the controller's cleanup.
 */
export function buildStep(deps: KustomizationDeps): Step<KustomizationObject, KustomizationState> {
  return {
    name: 'build',
    async run(ctx) {
      const artifact = ctx.state.artifact;
      if (!artifact) return;
      const spec = ctx.obj.spec;
      try {
        ctx.state.workDir = await mkdtemp(path.join(os.tmpdir(), 'flotilla-ks-'));
        const src = path.join(ctx.state.workDir, 'src');
        try {
          await deps.store.extractTo(artifact, src);
        } catch (e) {
          throw new TransientError(Reason.ArtifactFailed, `failed to read artifact of revision '${artifact.revision}': ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
        const identities = await decryptionIdentities(deps, ctx);
        let verifiedMacs: ReadonlySet<string> | undefined;
        if (identities?.length) {
          const buildDir = await resolveBuildDir(src, spec.path ?? './');
          verifiedMacs = (await decryptFilesInDir(src, buildDir, identities)).verifiedMacs;
        }
        const result = await build({
          dir: src,
          path: spec.path ?? './',
          options: {
            ...(spec.targetNamespace ? { targetNamespace: spec.targetNamespace } : {}),
            ...(spec.namePrefix ? { namePrefix: spec.namePrefix } : {}),
            ...(spec.nameSuffix ? { nameSuffix: spec.nameSuffix } : {}),
            ...(spec.patches?.length ? { patches: spec.patches as never } : {}),
            ...(spec.images?.length ? { images: spec.images as never } : {}),
            ...(spec.components?.length ? { components: spec.components } : {}),
            ...(spec.ignoreMissingComponents ? { ignoreMissingComponents: true } : {}),
          },
          kubectl: deps.kubectl,
          timeoutMs: durationOr(spec.timeout, durationOr(spec.interval, 5 * 60_000)),
          noRemoteBases: deps.noRemoteBases,
        });
        let objects = result.objects as unknown as KubeObject[];
        if (identities?.length) objects = await decryptObjects(objects, identities, verifiedMacs ? { verifiedMacs } : {});
        const vars = await substitutionVars(deps, ctx);
        if (vars) objects = substitute(objects, vars, { strict: deps.strictSubstitution, always: spec.postBuild?.substituteStrategy === 'Always' } as never);
        objects = applyCommonMetadata(objects as never[], spec.commonMetadata as never) as unknown as KubeObject[];
        ctx.state.objects = objects;
      } catch (e) {
        if (isReconcileError(e)) throw e;
        throw new StallingError(Reason.BuildFailed, `kustomize build failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    },
  };
}
