import { KubeClient } from '../../runtime/client/client.ts';
import { Kubeconfig } from '../../runtime/client/kubeconfig.ts';
import { StallingError } from '../../runtime/errors.ts';
import { readSecret } from '../secrets/read.ts';

/** Flux's reason when a reference crosses namespaces under lockdown. */
export const ACCESS_DENIED_REASON = 'AccessDenied';

export interface TenancyOptions {
  /** `--default-service-account`: who objects without `serviceAccountName` act as. */
  defaultServiceAccount?: string | undefined;
  /** `--no-cross-namespace-refs`. */
  noCrossNamespaceRefs: boolean;
  /** `--insecure-kubeconfig-exec`: remote kubeconfigs may run exec and auth-provider plugins. */
  allowKubeconfigExec?: boolean;
  /** `--insecure-kubeconfig-tls`: remote kubeconfigs may skip TLS verification. */
  allowKubeconfigInsecureTls?: boolean;
}

export interface TenantTarget {
  namespace: string;
  serviceAccountName?: string | undefined;
  kubeConfig?: { secretRef?: { name: string; key?: string } } | undefined;
}

export interface TenantClient {
  client: KubeClient;
  /** Who the writes are made as, for messages: `system:serviceaccount:ns:sa` or `the controller`. */
  identity: string;
  remote: boolean;
  close(): void;
}

/**
 * The one place that decides who a tenant's writes are made as: the object's service
 * account (impersonated), the `--default-service-account` under lockdown, a remote cluster
 * from `kubeConfig.secretRef`, or the controller's own identity when none applies.
 * Impersonation is the security boundary: the API server's RBAC decides.
 */
export class ClientFactory {
  constructor(
    private readonly base: KubeClient,
    private readonly opts: TenancyOptions,
  ) {}

  /** Refuses a reference into another namespace when cross-namespace references are off. */
  checkReference(fromNamespace: string, refNamespace: string | undefined, what: string): void {
    if (this.opts.noCrossNamespaceRefs && refNamespace && refNamespace !== fromNamespace) {
      throw new StallingError(
        ACCESS_DENIED_REASON,
        `cross-namespace references are not allowed: ${what} in namespace '${refNamespace}' cannot be used from namespace '${fromNamespace}' (--no-cross-namespace-refs)`,
      );
    }
  }

  async forTarget(t: TenantTarget, reason: string): Promise<TenantClient> {
    const sa = t.serviceAccountName ?? this.opts.defaultServiceAccount;
    if (t.kubeConfig?.secretRef) {
      const kc = await this.remoteKubeConfig(t.namespace, t.kubeConfig.secretRef, reason);
      const remote = KubeClient.fromKubeConfig(kc);
      const client = sa ? remote.impersonate({ user: `system:serviceaccount:${t.namespace}:${sa}` }) : remote;
      return { client, identity: sa ? `system:serviceaccount:${t.namespace}:${sa} on the remote cluster` : 'the remote cluster user', remote: true, close: () => remote.close() };
    }
    if (!sa) return { client: this.base, identity: 'the controller', remote: false, close: () => undefined };
    const user = `system:serviceaccount:${t.namespace}:${sa}`;
    return { client: this.base.impersonate({ user }), identity: user, remote: false, close: () => undefined };
  }

  private async remoteKubeConfig(namespace: string, ref: { name: string; key?: string }, reason: string): Promise<Kubeconfig> {
    const data = await readSecret(this.base, namespace, ref.name, reason, 'spec.kubeConfig.secretRef');
    const key = ref.key ?? (data['value'] !== undefined ? 'value' : 'value.yaml');
    const text = data[key];
    if (text === undefined) {
      throw new StallingError(reason, `secret '${namespace}/${ref.name}' has no key '${key}' holding a kubeconfig (spec.kubeConfig.secretRef)`);
    }
    let kc: Kubeconfig;
    try {
      kc = Kubeconfig.fromString(text);
    } catch (e) {
      throw new StallingError(reason, `the kubeconfig in secret '${namespace}/${ref.name}' is not valid: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
    // an exec plugin or auth provider would run a program named by a tenant inside the operator
    if (kc.usesPlugins() && !this.opts.allowKubeconfigExec) {
      throw new StallingError(
        reason,
        `the kubeconfig in secret '${namespace}/${ref.name}' uses an exec or auth-provider plugin, which is not allowed; use a token or client certificate (or start the operator with --insecure-kubeconfig-exec)`,
      );
    }
    const cluster = kc.cluster();
    if (!cluster) throw new StallingError(reason, `the kubeconfig in secret '${namespace}/${ref.name}' has no current context`);
    if (cluster['insecure-skip-tls-verify'] && !this.opts.allowKubeconfigInsecureTls) {
      throw new StallingError(
        reason,
        `the kubeconfig in secret '${namespace}/${ref.name}' skips TLS verification, which is not allowed; give the cluster's CA (or start the operator with --insecure-kubeconfig-tls)`,
      );
    }
    return kc;
  }
}
