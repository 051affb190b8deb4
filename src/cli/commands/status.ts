/**
 * Reading the status a Flux object reports, as the CLI needs it: the Ready condition and
 * its message, whether a reconciliation the CLI asked for has finished, and the wording
 * Flux's `get` uses. Objects come from the API server as unstructured JSON, so every
 * field is read defensively.
 */
import type { KubeObject } from '../../runtime/client/objects.ts';

export interface ConditionView {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration: number | undefined;
}

/** The value at a path of plain-object keys, or undefined. */
export function field(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

export function stringField(obj: unknown, ...path: string[]): string | undefined {
  const v = field(obj, ...path);
  return typeof v === 'string' ? v : undefined;
}

export function numberField(obj: unknown, ...path: string[]): number | undefined {
  const v = field(obj, ...path);
  return typeof v === 'number' ? v : undefined;
}

export function conditionsOf(obj: KubeObject): ConditionView[] {
  const raw = field(obj, 'status', 'conditions');
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((c: unknown) => {
    const type = stringField(c, 'type');
    if (type === undefined) return [];
    return [
      {
        type,
        status: stringField(c, 'status') ?? 'Unknown',
        reason: stringField(c, 'reason') ?? '',
        message: stringField(c, 'message') ?? '',
        observedGeneration: numberField(c, 'observedGeneration'),
      },
    ];
  });
}

export function findCondition(obj: KubeObject, type: string): ConditionView | undefined {
  return conditionsOf(obj).find((c) => c.type === type);
}

/** Flux's READY and MESSAGE columns: no Ready condition reads as False, "waiting to be reconciled". */
export function readyStatusAndMessage(obj: KubeObject): [string, string] {
  const ready = findCondition(obj, 'Ready');
  return ready ? [ready.status, ready.message] : ['False', 'waiting to be reconciled'];
}

/** `type=status` matching, case-insensitive like Flux's `--status-selector`. */
export function conditionMatches(obj: KubeObject, type: string, status: string): boolean {
  let found: ConditionView | undefined;
  for (const c of conditionsOf(obj)) if (c.type.toLowerCase() === type.toLowerCase()) found = c;
  return found !== undefined && found.status.toLowerCase() === status.toLowerCase();
}

/** SHA-1 to SHA-512 hex strings shortened to 8 characters, as Flux prints revisions. */
export function truncateHex(text: string): string {
  return text.replace(/\b[a-f0-9]{40,128}\b/g, (hex) => hex.slice(0, 8));
}

export function isSuspended(obj: KubeObject): boolean {
  return field(obj, 'spec', 'suspend') === true;
}

/** `True`/`False`, as Go's strconv.FormatBool title-cased. */
export function titleBool(b: boolean): string {
  return b ? 'True' : 'False';
}

export type Settled = { done: false; why: string } | { done: true; ready: boolean; message: string; stalled: boolean };

/**
 * Whether the controller has finished with the object's current generation (kstatus's
 * "Current" for Flux kinds): it observed the generation, and is neither Reconciling nor
 * Stalled. A Stalled object is finished too, and failed.
 */
export function settled(obj: KubeObject): Settled {
  const generation = obj.metadata.generation ?? 0;
  const observed = numberField(obj, 'status', 'observedGeneration') ?? -1;
  const ready = findCondition(obj, 'Ready');
  if (obj.metadata.deletionTimestamp) return { done: false, why: 'the object is being deleted' };
  if (ready === undefined) return { done: false, why: 'no Ready condition yet' };
  // Some kinds set observedGeneration only per condition; either one proves the generation was seen.
  const seen = ready.observedGeneration !== undefined && ready.observedGeneration !== 0 ? ready.observedGeneration : observed;
  if (seen < generation) return { done: false, why: `generation ${generation} not observed yet` };
  const stalled = findCondition(obj, 'Stalled');
  if (stalled?.status === 'True') return { done: true, ready: false, message: stalled.message || ready.message, stalled: true };
  if (findCondition(obj, 'Reconciling')?.status === 'True') return { done: false, why: ready.message || 'reconciling' };
  return { done: true, ready: ready.status === 'True', message: ready.message, stalled: false };
}

/** Go's time.RFC3339Nano for a JS date: UTC, trailing zeros of the fraction dropped. */
export function rfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.(\d+)Z$/, (_m, frac: string) => {
    const trimmed = frac.replace(/0+$/, '');
    return trimmed ? `.${trimmed}Z` : 'Z';
  });
}

/** Go's time.RFC3339 (seconds precision) for an API timestamp; '' when absent. */
export function rfc3339(text: string | undefined): string {
  if (!text) return '';
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? text : d.toISOString().replace(/\.\d+Z$/, 'Z');
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
