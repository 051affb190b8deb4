import { StallingError } from '../../../runtime/errors.ts';
import { durationOr } from '../../../runtime/duration.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { InvalidOciReference, parseOciUrl, registryAccess, wantedOf } from '../../../services/oci/index.ts';
import { Reason, type OCIRepositoryDeps, type OCIRepositoryObject, type OCIRepositoryState } from '../types.ts';

/** Validates the spec and gathers what talking to the registry needs: address, credentials, TLS. */
export function connectStep(deps: OCIRepositoryDeps): Step<OCIRepositoryObject, OCIRepositoryState> {
  return {
    name: 'connect',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const ns = metadata.namespace ?? 'default';
      if (spec.verify) {
        throw new StallingError(Reason.VerificationError, `signature verification (spec.verify, provider '${spec.verify.provider ?? 'cosign'}') is not supported by Flotilla yet; remove spec.verify to pull without verification`);
      }
      if (spec.provider && spec.provider !== 'generic') {
        throw new StallingError(Reason.InvalidSpec, `provider '${spec.provider}' (cloud workload identity) is not supported by Flotilla yet; use provider generic with secretRef`);
      }
      if (spec.proxySecretRef) throw new StallingError(Reason.InvalidSpec, 'spec.proxySecretRef is not supported by Flotilla yet for OCIRepository');
      let name;
      try {
        name = parseOciUrl(spec.url);
        ctx.state.wanted = wantedOf(spec.ref);
      } catch (e) {
        if (e instanceof InvalidOciReference) throw new StallingError(Reason.URLInvalid, e.message);
        throw e;
      }
      const { credentials, tls } = await registryAccess(deps.client, ns, name.registry, spec, Reason.AuthenticationFailed);
      const timeoutMs = durationOr(spec.timeout, 60_000);
      // like Flux, spec.timeout bounds the whole pull (tags, manifest, layer), not only each silence
      const signal = AbortSignal.any([ctx.signal, AbortSignal.timeout(timeoutMs)]);
      ctx.state.connection = { name, insecure: spec.insecure === true, credentials, tls, timeoutMs, signal };
    },
  };
}
