/**
 * The order in which objects are applied (and, reversed, pruned), and the apply stages.
 * Flux's order (fluxcd/pkg ssa ReconcileOrder): definitions a later object may need come
 * first, webhooks last so they cannot block the objects of the same build.
 */

export interface KindRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string | undefined;
}

const FIRST_KINDS = [
  'CustomResourceDefinition',
  'Namespace',
  'ClusterRole',
  'ClusterClass',
  'RuntimeClass',
  'PriorityClass',
  'StorageClass',
  'VolumeSnapshotClass',
  'IngressClass',
  'GatewayClass',
  'ClusterRoleBinding',
  'ResourceQuota',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'ConfigMap',
  'Secret',
  'Service',
  'LimitRange',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'PodDisruptionBudget',
];
const LAST_KINDS = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];

const KIND_RANK = new Map<string, number>([
  ...FIRST_KINDS.map((k, i): [string, number] => [k, i - FIRST_KINDS.length]),
  ...LAST_KINDS.map((k, i): [string, number] => [k, i + 1]),
]);

/** Negative for kinds that go first, 0 for any other kind, positive for webhooks. */
export function kindRank(kind: string): number {
  return KIND_RANK.get(kind) ?? 0;
}

export function groupOf(apiVersion: string): string {
  const i = apiVersion.indexOf('/');
  return i < 0 ? '' : apiVersion.slice(0, i);
}

/** Kind order, then group, then kind, namespace, name: deterministic whatever the input order. */
export function compareForApply(a: KindRef, b: KindRef): number {
  const ga = groupOf(a.apiVersion);
  const gb = groupOf(b.apiVersion);
  if (a.kind !== b.kind || ga !== gb) {
    const ra = kindRank(a.kind);
    const rb = kindRank(b.kind);
    if (ra !== rb) return ra - rb;
    if (ga !== gb) return ga < gb ? -1 : 1;
    return a.kind < b.kind ? -1 : 1;
  }
  const na = a.namespace ?? '';
  const nb = b.namespace ?? '';
  if (na !== nb) return na < nb ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function sortForApply<T extends KindRef>(items: readonly T[]): T[] {
  return [...items].sort(compareForApply);
}

export type Stage = 'definitions' | 'classes' | 'resources';

/**
 * Stage 1: CRDs, Namespaces and ClusterRoles (applied, then waited for, so the custom
 * resources and namespaced objects of the same build can be applied); stage 2: kinds
 * named `*Class`; stage 3: everything else.
 */
export function stageOf(ref: Pick<KindRef, 'apiVersion' | 'kind'>): Stage {
  const kind = ref.kind.toLowerCase();
  if (kind === 'customresourcedefinition' && ref.apiVersion.startsWith('apiextensions.k8s.io/')) return 'definitions';
  if (kind === 'namespace' && ref.apiVersion === 'v1') return 'definitions';
  if (kind === 'clusterrole' && ref.apiVersion.startsWith('rbac.authorization.k8s.io/')) return 'definitions';
  if (ref.kind.endsWith('Class')) return 'classes';
  return 'resources';
}

export const STAGES: readonly Stage[] = ['definitions', 'classes', 'resources'];

/**
 * Tiers for deletion: reverse apply order, where objects of the same rank may be deleted
 * in parallel (namespaced workloads first, Namespaces and CRDs last).
 */
export function deletionTiers<T extends KindRef>(items: readonly T[]): T[][] {
  const byRank = new Map<number, T[]>();
  for (const it of sortForApply(items).reverse()) {
    const rank = kindRank(it.kind);
    let tier = byRank.get(rank);
    if (!tier) byRank.set(rank, (tier = []));
    tier.push(it);
  }
  return [...byRank.entries()].sort((a, b) => b[0] - a[0]).map(([, tier]) => tier);
}
