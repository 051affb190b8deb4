import { authFromSecretValues, proxyFromSecretData } from '../../../services/git/index.ts';
import { readSecret, readSecretRaw } from '../../../services/secrets/read.ts';
import type { Step } from '../../../runtime/reconcile/types.ts';
import { Cond, Reason, type GitRepositoryDeps, type GitRepositoryObject, type GitRepositoryState } from '../types.ts';

/** Reads `secretRef` and `proxySecretRef` (directly, never cached) into git credentials. */
export function credentialsStep(deps: GitRepositoryDeps): Step<GitRepositoryObject, GitRepositoryState> {
  return {
    name: 'credentials',
    async run(ctx) {
      const { spec, metadata } = ctx.obj;
      const ns = metadata.namespace ?? 'default';
      try {
        const values = spec.secretRef
          ? await readSecret(deps.client, ns, spec.secretRef.name, Reason.AuthenticationFailed, 'spec.secretRef')
          : undefined;
        ctx.state.auth = authFromSecretValues(values, spec.url);
        ctx.state.proxy = spec.proxySecretRef
          ? proxyFromSecretData(await readSecretRaw(deps.client, ns, spec.proxySecretRef.name, Reason.AuthenticationFailed, 'spec.proxySecretRef'))
          : undefined;
      } catch (e) {
        const err = e as { reason?: string; message?: string };
        ctx.condition(Cond.FetchFailed, 'True', err.reason ?? Reason.AuthenticationFailed, err.message ?? String(e));
        throw e;
      }
    },
  };
}
