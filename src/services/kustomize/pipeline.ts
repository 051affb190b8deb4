import { createHash } from 'node:crypto';
import type { KustomizationSpec } from '../../api/kustomize.v1.ts';
import type { KubeClient } from '../../runtime/client/client.ts';
import { isNotFound } from '../../runtime/client/errors.ts';
import type { KubeObject } from '../../runtime/client/objects.ts';
import { durationOr } from '../../runtime/duration.ts';
import { StallingError, WaitingError, isReconcileError } from '../../runtime/errors.ts';
import { readSecret } from '../secrets/read.ts';
import { decryptFilesInDir, decryptObjects, isSopsEncrypted } from '../sops/decryptor.ts';
import { ageIdentitiesFromSecret } from '../sops/metadata.ts';
import { build, resolveBuildDir } from './build.ts';
import { applyCommonMetadata } from './common-metadata.ts';
import { collectVars, substitute, type VarSource } from './substitute.ts';

const BUILD_FAILED = 'BuildFailed';

/**
 * Kustomize output by artifact digest and build options (DESIGN §6: spawning is the
 * expensive part of a build). Only builds without decryption are kept, and substitution
 * and commonMetadata run on a copy each time, so cluster-side variables stay live.
 */
export class BuildCache {
  private readonly entries = new Map<string, KubeObject[]>();
  constructor(private readonly maxEntries = 512) {}
  get(key: string): KubeObject[] | undefined {
    const v = this.entries.get(key);
    if (v) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v ? structuredClone(v) : undefined;
  }
  set(key: string, objects: KubeObject[]): void {
    this.entries.set(key, structuredClone(objects));
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }
}

/** The cache key of a build: the artifact's digest and every spec field that shapes kustomize's output. */
export function buildCacheKey(digest: string, spec: KustomizationSpec): string {
  const { path, targetNamespace, namePrefix, nameSuffix, patches, images, components, ignoreMissingComponents } = spec;
  return createHash('sha256').update(JSON.stringify([digest, path, targetNamespace, namePrefix, nameSuffix, patches, images, components, ignoreMissingComponents])).digest('hex');
}

export interface PipelineInput {
  /** A per-reconcile copy of the source root (kustomization.yaml may be written into it), made on demand. */
  root: string | (() => Promise<string>);
  /** Reuse kustomize's output for the same artifact and options. */
  cache?: { store: BuildCache; key: string };
  spec: KustomizationSpec;
  /** The Kustomization's namespace: where substituteFrom and decryption Secrets live. */
  namespace: string;
  client: KubeClient;
  kubectl: string;
  noRemoteBases: boolean;
  strictSubstitution: boolean;
  /** `decrypt` in the operator; `mask` for `flotilla build` (values replaced, nothing decrypted). */
  secrets: 'decrypt' | 'mask';
}

async function decryptionIdentities(input: PipelineInput): Promise<string[] | undefined> {
  const dec = input.spec.decryption;
  if (!dec || input.secrets === 'mask') return undefined;
  if (dec.provider !== 'sops') throw new StallingError(BUILD_FAILED, `decryption provider '${String(dec.provider)}' is not supported: use 'sops'`);
  if (!dec.secretRef) return [];
  const values = await readSecret(input.client, input.namespace, dec.secretRef.name, BUILD_FAILED, 'spec.decryption.secretRef');
  const ids = ageIdentitiesFromSecret({ stringData: values });
  if (!ids.length) {
    throw new StallingError(BUILD_FAILED, `decryption secret '${input.namespace}/${dec.secretRef.name}' has no age key: add an entry whose name ends in '.agekey'`);
  }
  return ids;
}

/** `postBuild` variables: substituteFrom ConfigMaps/Secrets (read directly), then inline ones. */
export async function substitutionVars(input: Pick<PipelineInput, 'spec' | 'namespace' | 'client'>): Promise<Record<string, string> | undefined> {
  const pb = input.spec.postBuild;
  if (!pb) return undefined;
  const sources: VarSource[] = [];
  for (const ref of pb.substituteFrom ?? []) {
    const kind = ref.kind as 'ConfigMap' | 'Secret';
    const obj = await input.client
      .get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind, namespace: input.namespace, name: ref.name })
      .catch((e: unknown) => {
        if (isNotFound(e)) return undefined;
        throw e;
      });
    if (!obj) {
      if (ref.optional) continue;
      throw new WaitingError(BUILD_FAILED, `substitute from ${kind} '${input.namespace}/${ref.name}' failed: not found (mark it optional: true if it may be absent)`);
    }
    sources.push({ kind, name: ref.name, data: obj.data });
  }
  return collectVars(pb.substitute, sources);
}

/** Replaces the values of SOPS-encrypted Secrets, as `flux build` does. */
function maskSops(objects: KubeObject[]): KubeObject[] {
  return objects.map((o) => {
    if (o.kind !== 'Secret' || !isSopsEncrypted(o)) return o;
    const mask = (d: unknown) => (d && typeof d === 'object' ? Object.fromEntries(Object.keys(d).map((k) => [k, '**SOPS**'])) : d);
    return { ...o, ...(o['data'] ? { data: mask(o['data']) } : {}), ...(o['stringData'] ? { stringData: mask(o['stringData']) } : {}) };
  });
}

/**
 * The whole build of a Kustomization, the same for the operator and `flotilla build`:
 * decrypt SOPS files the generators read, kustomize (or the proven in-process path) with
 * the spec's overrides, decrypt SOPS Secrets, post-build substitution, commonMetadata.
 */
export async function buildKustomization(input: PipelineInput): Promise<KubeObject[]> {
  const spec = input.spec;
  try {
    const identities = await decryptionIdentities(input);
    const cacheable = input.cache && !identities?.length;
    let objects = cacheable ? input.cache?.store.get(input.cache.key) : undefined;
    if (!objects) {
      const root = typeof input.root === 'string' ? input.root : await input.root();
      let verifiedMacs: ReadonlySet<string> | undefined;
      if (identities?.length) {
        const buildDir = await resolveBuildDir(root, spec.path ?? './');
        verifiedMacs = (await decryptFilesInDir(root, buildDir, identities)).verifiedMacs;
      }
      const result = await build({
        dir: root,
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
        kubectl: input.kubectl,
        timeoutMs: durationOr(spec.timeout, durationOr(spec.interval, 5 * 60_000)),
        noRemoteBases: input.noRemoteBases,
      });
      objects = result.objects as unknown as KubeObject[];
      if (cacheable && input.cache) input.cache.store.set(input.cache.key, objects);
      if (identities?.length) objects = await decryptObjects(objects, identities, verifiedMacs ? { verifiedMacs } : {});
    }
    if (input.secrets === 'mask') objects = maskSops(objects);
    const vars = await substitutionVars(input);
    if (vars) objects = substitute(objects, vars, { strict: input.strictSubstitution, always: spec.postBuild?.substituteStrategy === 'Always' });
    return applyCommonMetadata(objects as never[], spec.commonMetadata as never) as unknown as KubeObject[];
  } catch (e) {
    if (isReconcileError(e)) throw e;
    throw new StallingError(BUILD_FAILED, `kustomize build failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
