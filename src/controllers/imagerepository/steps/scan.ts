import { StallingError, TransientError } from '../../../runtime/errors.ts';
import { durationOr } from '../../../runtime/duration.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { canonicalImageName } from '../../../services/imagetags/store.ts';
import { InvalidOciReference, OciError, OciSession, parseOciUrl, registryAccess } from '../../../services/oci/index.ts';
import { DEFAULT_EXCLUSIONS, LATEST_TAGS, type ImageRepositoryDeps, type ImageRepositoryObject, type ImageRepositoryState } from '../types.ts';

/** Lists the image's tags, drops the excluded ones, records them for the policies and in status. */
export function scanStep(deps: ImageRepositoryDeps): Step<ImageRepositoryObject, ImageRepositoryState> {
  return {
    name: 'scan',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const ns = metadata.namespace ?? 'default';
      if (spec.provider && spec.provider !== 'generic') throw new StallingError('InvalidSpec', `provider '${spec.provider}' is not supported by Flotilla yet; use provider generic with secretRef`);
      if (spec.proxySecretRef) throw new StallingError('InvalidSpec', 'spec.proxySecretRef is not supported by Flotilla yet for ImageRepository');
      const canonical = canonicalImageName(spec.image);
      ctx.status['canonicalImageName'] = canonical;
      let name;
      try {
        name = parseOciUrl(`oci://${canonical}`);
      } catch (e) {
        if (e instanceof InvalidOciReference) throw new StallingError('InvalidSpec', `image '${spec.image}' is not a valid image name: ${e.message}`);
        throw e;
      }
      const exclusions = spec.exclusionList ?? DEFAULT_EXCLUSIONS;
      let excluded: RegExp[];
      try {
        excluded = exclusions.map((p) => new RegExp(p));
      } catch (e) {
        throw new StallingError('InvalidSpec', `invalid exclusion list: ${e instanceof Error ? e.message : String(e)}`);
      }
      const access = await registryAccess(deps.client, ns, name.registry, spec, 'AuthenticationFailed');
      const timeoutMs = durationOr(spec.timeout, durationOr(spec.interval, 60_000));
      let all: string[];
      try {
        all = await new OciSession({ name, insecure: spec.insecure === true, ...access, timeoutMs, signal: ctx.signal }).tags();
      } catch (e) {
        if (e instanceof OciError) throw new TransientError(e.failure === 'authentication' ? 'AuthenticationFailed' : 'ReadOperationFailed', e.message);
        throw e;
      }
      const tags = all.filter((t) => !excluded.some((re) => re.test(t)));
      const checksum = deps.tags.set(ns, metadata.name, canonical, tags);
      const latest = [...tags].sort().reverse().slice(0, LATEST_TAGS);
      ctx.state.found = tags.length;
      ctx.state.checksum = checksum;
      ctx.status['lastScanResult'] = { tagCount: tags.length, scanTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), revision: checksum, ...(latest.length ? { latestTags: latest } : {}) };
      ctx.status['observedExclusionList'] = exclusions;
    },
  };
}
