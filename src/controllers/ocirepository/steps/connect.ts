import { StallingError } from '../../../runtime/errors.ts';
import { durationOr } from '../../../runtime/duration.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { InvalidOciReference, credentialsFor, parseOciUrl, wantedOf, type BasicCredentials } from '../../../services/oci/index.ts';
import { readSecret } from '../../../services/secrets/read.ts';
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
      let credentials: BasicCredentials | undefined;
      const configs: Array<[string, string]> = [];
      if (spec.secretRef) {
        const raw = await readSecret(deps.client, ns, spec.secretRef.name, Reason.AuthenticationFailed, 'spec.secretRef');
        configs.push([`secret '${ns}/${spec.secretRef.name}'`, raw['.dockerconfigjson'] ?? '']);
      }
      if (spec.serviceAccountName) {
        const sa = await deps.client.get<{ apiVersion: string; kind: string; metadata: { name: string }; imagePullSecrets?: Array<{ name: string }> }>({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: ns, name: spec.serviceAccountName });
        if (!sa) throw new StallingError(Reason.AuthenticationFailed, `service account '${ns}/${spec.serviceAccountName}' not found`);
        for (const s of sa.imagePullSecrets ?? []) {
          const raw = await readSecret(deps.client, ns, s.name, Reason.AuthenticationFailed, `imagePullSecrets of service account '${spec.serviceAccountName}'`);
          configs.push([`secret '${ns}/${s.name}'`, raw['.dockerconfigjson'] ?? '']);
        }
      }
      for (const [where, json] of configs) {
        if (!json) throw new StallingError(Reason.AuthenticationFailed, `${where} has no .dockerconfigjson: it must be of type kubernetes.io/dockerconfigjson`);
        try {
          credentials ??= credentialsFor(json, name.registry);
        } catch (e) {
          throw new StallingError(Reason.AuthenticationFailed, `${where}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      let tls: { ca?: string; cert?: string; key?: string } | undefined;
      if (spec.certSecretRef) {
        const data = await readSecret(deps.client, ns, spec.certSecretRef.name, Reason.AuthenticationFailed, 'spec.certSecretRef');
        if (spec.insecure) throw new StallingError(Reason.InvalidSpec, 'spec.certSecretRef cannot be used with spec.insecure (plain HTTP)');
        if (!!data['tls.crt'] !== !!data['tls.key']) throw new StallingError(Reason.AuthenticationFailed, `secret '${ns}/${spec.certSecretRef.name}' must hold both tls.crt and tls.key, or neither`);
        tls = { ...(data['ca.crt'] ? { ca: data['ca.crt'] } : {}), ...(data['tls.crt'] ? { cert: data['tls.crt'], key: data['tls.key'] ?? '' } : {}) };
      }
      ctx.state.connection = { name, insecure: spec.insecure === true, credentials, tls, timeoutMs: durationOr(spec.timeout, 60_000), signal: ctx.signal };
    },
  };
}
