import type { KubeClient } from '../../runtime/client/client.ts';
import { StallingError } from '../../runtime/errors.ts';
import { readSecret } from '../secrets/read.ts';
import { credentialsFor, type BasicCredentials } from './reference.ts';

export interface RegistryAccessSpec {
  secretRef?: { name: string } | undefined;
  serviceAccountName?: string | undefined;
  certSecretRef?: { name: string } | undefined;
  insecure?: boolean | undefined;
}

/**
 * What logging in to `registry` takes, from a Flux spec: the dockerconfigjson of
 * `secretRef` (then of the service account's image pull secrets), and the TLS material of
 * `certSecretRef`. Errors are StallingErrors with `reason` (a Secret change requeues).
 */
export async function registryAccess(
  client: KubeClient,
  namespace: string,
  registry: string,
  spec: RegistryAccessSpec,
  reason: string,
): Promise<{ credentials: BasicCredentials | undefined; tls: { ca?: string; cert?: string; key?: string } | undefined }> {
  const configs: Array<[string, string]> = [];
  if (spec.secretRef) {
    const data = await readSecret(client, namespace, spec.secretRef.name, reason, 'spec.secretRef');
    configs.push([`secret '${namespace}/${spec.secretRef.name}'`, data['.dockerconfigjson'] ?? '']);
  }
  if (spec.serviceAccountName) {
    const sa = await client.get<{ apiVersion: string; kind: string; metadata: { name: string }; imagePullSecrets?: Array<{ name: string }> }>({ apiVersion: 'v1', kind: 'ServiceAccount', namespace, name: spec.serviceAccountName });
    if (!sa) throw new StallingError(reason, `service account '${namespace}/${spec.serviceAccountName}' not found`);
    for (const s of sa.imagePullSecrets ?? []) {
      const data = await readSecret(client, namespace, s.name, reason, `imagePullSecrets of service account '${spec.serviceAccountName}'`);
      configs.push([`secret '${namespace}/${s.name}'`, data['.dockerconfigjson'] ?? '']);
    }
  }
  let credentials: BasicCredentials | undefined;
  for (const [where, json] of configs) {
    if (!json) throw new StallingError(reason, `${where} has no .dockerconfigjson: it must be of type kubernetes.io/dockerconfigjson`);
    try {
      credentials ??= credentialsFor(json, registry);
    } catch (e) {
      throw new StallingError(reason, `${where}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  let tls: { ca?: string; cert?: string; key?: string } | undefined;
  if (spec.certSecretRef) {
    if (spec.insecure) throw new StallingError('InvalidSpec', 'spec.certSecretRef cannot be used with spec.insecure (plain HTTP)');
    const data = await readSecret(client, namespace, spec.certSecretRef.name, reason, 'spec.certSecretRef');
    if (!!data['tls.crt'] !== !!data['tls.key']) throw new StallingError(reason, `secret '${namespace}/${spec.certSecretRef.name}' must hold both tls.crt and tls.key, or neither`);
    tls = { ...(data['ca.crt'] ? { ca: data['ca.crt'] } : {}), ...(data['tls.crt'] ? { cert: data['tls.crt'], key: data['tls.key'] ?? '' } : {}) };
  }
  return { credentials, tls };
}
