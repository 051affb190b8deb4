/**
 * Cross-field rules that Flux's CRDs enforce with CEL (`x-kubernetes-validations`).
 * Kubernetes 1.20 cannot evaluate CEL, so the generated CRDs leave these rules out and the
 * controllers check them instead: a violation is a spec the user must fix (Stalled).
 */
import type { HelmRelease } from './helm.v2.ts';
import type { ImagePolicy } from './image.v1.ts';
import type { Kustomization } from './kustomize.v1.ts';
import type { Receiver } from './notification.v1.ts';
import type { Alert, Provider } from './notification.v1beta3.ts';
import type { GitRepository, HelmChart, HelmRepository, OCIRepository } from './source.v1.ts';
import type { ImageRepository, ImageUpdateAutomation } from './image.v1.ts';
import type { KubeConfigReference } from './common.ts';

type RuleSubject =
  | GitRepository
  | OCIRepository
  | HelmRepository
  | HelmChart
  | Kustomization
  | HelmRelease
  | ImageRepository
  | ImagePolicy
  | ImageUpdateAutomation
  | Receiver
  | Alert
  | Provider;

/** Git hosting providers that can carry a commit status, the only ones with commitStatusExpr. */
const commitStatusProviders: ReadonlySet<string> = new Set([
  'github',
  'gitlab',
  'gitea',
  'bitbucketserver',
  'bitbucket',
  'azuredevops',
]);

function kubeConfigRules(kubeConfig: KubeConfigReference | undefined): string[] {
  if (kubeConfig === undefined) return [];
  const given = [kubeConfig.secretRef, kubeConfig.configMapRef].filter((r) => r !== undefined).length;
  return given === 1
    ? []
    : ['spec.kubeConfig: set exactly one of secretRef and configMapRef'];
}

/**
 * The cross-field rules `obj` breaks, one sentence each, naming the fields involved; empty
 * when it breaks none.
 */
export function specRuleViolations(obj: RuleSubject): string[] {
  switch (obj.kind) {
    case 'GitRepository': {
      const { serviceAccountName, provider } = obj.spec;
      return serviceAccountName !== undefined && provider !== 'azure' && provider !== 'aws'
        ? ["spec.serviceAccountName: only allowed when spec.provider is 'azure' or 'aws'"]
        : [];
    }
    case 'HelmChart':
      return obj.spec.verify !== undefined && obj.spec.sourceRef.kind !== 'HelmRepository'
        ? ["spec.verify: only allowed when spec.sourceRef.kind is 'HelmRepository'"]
        : [];
    case 'Kustomization':
      return kubeConfigRules(obj.spec.kubeConfig);
    case 'HelmRelease': {
      const { spec } = obj;
      const problems = kubeConfigRules(spec.kubeConfig);
      if ((spec.chart === undefined) === (spec.chartRef === undefined)) {
        problems.push('spec: set exactly one of chart and chartRef');
      }
      const install = spec.install?.strategy;
      if (install?.retryInterval !== undefined && install.name === 'RemediateOnFailure') {
        problems.push("spec.install.strategy.retryInterval: not allowed when the strategy is 'RemediateOnFailure'");
      }
      const upgrade = spec.upgrade?.strategy;
      if (upgrade?.retryInterval !== undefined && upgrade.name !== 'RetryOnFailure') {
        problems.push("spec.upgrade.strategy.retryInterval: only allowed when the strategy is 'RetryOnFailure'");
      }
      return problems;
    }
    case 'ImagePolicy': {
      const always = obj.spec.digestReflectionPolicy === 'Always';
      if (obj.spec.interval !== undefined && !always) {
        return ["spec.interval: only allowed when spec.digestReflectionPolicy is 'Always'"];
      }
      if (obj.spec.interval === undefined && always) {
        return ["spec.interval: required when spec.digestReflectionPolicy is 'Always'"];
      }
      return [];
    }
    case 'Provider':
      return obj.spec.commitStatusExpr !== undefined && !commitStatusProviders.has(obj.spec.type)
        ? [`spec.commitStatusExpr: only allowed for the types ${[...commitStatusProviders].join(', ')}`]
        : [];
    case 'Receiver': {
      const { spec } = obj;
      const oidc = spec.type === 'generic-oidc';
      const providers = spec.oidcProviders?.length ?? 0;
      const problems: string[] = [];
      if (oidc && providers === 0) problems.push('spec.oidcProviders: generic-oidc receivers need at least one');
      if (!oidc && providers > 0) problems.push('spec.oidcProviders: only allowed when spec.type is generic-oidc');
      if (oidc && spec.secretRef !== undefined) problems.push('spec.secretRef: not allowed when spec.type is generic-oidc');
      if (!oidc && spec.secretRef === undefined) problems.push('spec.secretRef: required unless spec.type is generic-oidc');
      return problems;
    }
    case 'OCIRepository':
    case 'HelmRepository':
    case 'ImageRepository':
    case 'ImageUpdateAutomation':
    case 'Alert':
      return [];
  }
}
