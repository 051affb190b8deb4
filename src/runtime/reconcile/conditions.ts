/** Kubernetes-style status conditions, as Flux writes them. */
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  observedGeneration?: number;
  lastTransitionTime: string;
}

export const READY = 'Ready';
export const RECONCILING = 'Reconciling';
export const STALLED = 'Stalled';

/** Flux's generic reasons (fluxcd/pkg/apis/meta). */
export const Reasons = {
  Succeeded: 'Succeeded',
  Failed: 'Failed',
  Progressing: 'Progressing',
  ProgressingWithRetry: 'ProgressingWithRetry',
  DependencyNotReady: 'DependencyNotReady',
  ReconciliationSucceeded: 'ReconciliationSucceeded',
  ReconciliationFailed: 'ReconciliationFailed',
  Suspended: 'Suspended',
  InvalidSpec: 'InvalidSpec',
} as const;

export function findCondition(conds: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conds?.find((c) => c.type === type);
}

export function isTrue(conds: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conds, type)?.status === 'True';
}

/**
 * Sets a condition in place. `lastTransitionTime` only moves when the status changes,
 * so `kubectl wait` and alerting see real transitions, not every reconcile.
 */
export function setCondition(
  conds: Condition[],
  c: { type: string; status: ConditionStatus; reason: string; message: string; observedGeneration?: number | undefined },
  now: Date = new Date(),
): void {
  const i = conds.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? conds[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    reason: c.reason,
    message: c.message,
    ...(c.observedGeneration !== undefined ? { observedGeneration: c.observedGeneration } : {}),
    lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : rfc3339(now),
  };
  if (i >= 0) conds[i] = next;
  else conds.push(next);
}

export function removeCondition(conds: Condition[], type: string): void {
  const i = conds.findIndex((x) => x.type === type);
  if (i >= 0) conds.splice(i, 1);
}

/** Kubernetes metav1.Time: second precision, UTC, `Z`. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Flux orders conditions with Ready first, then Reconciling/Stalled, then the rest, stable. */
export function sortConditions(conds: Condition[]): Condition[] {
  const rank = (t: string): number => (t === READY ? 0 : t === RECONCILING ? 1 : t === STALLED ? 2 : 3);
  return [...conds].sort((a, b) => rank(a.type) - rank(b.type));
}
