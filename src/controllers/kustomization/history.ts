import { formatDuration } from '../../runtime/duration.ts';

/** One entry of Flux's `status.history`: a build output (by digest) and how its reconciles went. */
export interface Snapshot {
  digest: string;
  firstReconciled: string;
  lastReconciled: string;
  lastReconciledDuration: string;
  lastReconciledStatus: string;
  totalReconciliations: number;
  metadata?: Record<string, string>;
}

/** Flux keeps the five most recent snapshots. */
export const HISTORY_MAX = 5;

/**
 * Records one reconcile, as Flux's `History.Upsert` does: a snapshot with the same digest
 * and status is updated and moved to the front; otherwise a new one is put in front and
 * the oldest beyond five are dropped. Returns a new array; the input is not changed.
 */
export function upsertHistory(
  history: readonly Snapshot[] | undefined,
  entry: { digest: string; at: Date; durationMs: number; status: string; metadata: Record<string, string> },
): Snapshot[] {
  const at = entry.at.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const duration = formatDuration(entry.durationMs);
  const list = [...(history ?? [])];
  const i = list.findIndex((s) => s.digest === entry.digest && s.lastReconciledStatus === entry.status);
  if (i >= 0) {
    const old = list[i] as Snapshot;
    list.splice(i, 1);
    list.unshift({ ...old, lastReconciled: at, lastReconciledDuration: duration, totalReconciliations: old.totalReconciliations + 1, metadata: entry.metadata });
  } else {
    list.unshift({
      digest: entry.digest,
      firstReconciled: at,
      lastReconciled: at,
      lastReconciledDuration: duration,
      lastReconciledStatus: entry.status,
      totalReconciliations: 1,
      metadata: entry.metadata,
    });
  }
  return list.slice(0, HISTORY_MAX);
}
