/**
 * Errors that classify themselves. A reconciler never inspects message text: it asks the
 * error what kind it is. Each error carries a Flux reason string that ends up in the
 * Ready condition and in the Warning event.
 */

export type ErrorClass = 'stalling' | 'waiting' | 'transient';

export abstract class ReconcileError extends Error {
  abstract readonly kind: ErrorClass;
  readonly reason: string;
  constructor(reason: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
    this.name = new.target.name;
  }
}

/** The user must change the spec (or a referenced object); retrying will not help. */
export class StallingError extends ReconcileError {
  readonly kind = 'stalling' as const;
}

/** A dependency is not ready yet; requeue after `retryAfterMs`, this is not a failure. */
export class WaitingError extends ReconcileError {
  readonly kind = 'waiting' as const;
  readonly retryAfterMs: number | undefined;
  constructor(reason: string, message: string, retryAfterMs?: number, options?: { cause?: unknown }) {
    super(reason, message, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Something that may succeed later (network, API server, storage); back off and retry. */
export class TransientError extends ReconcileError {
  readonly kind = 'transient' as const;
}

export function isReconcileError(e: unknown): e is ReconcileError {
  return e instanceof ReconcileError;
}

/** The message of any thrown value, without assuming it is an Error. */
export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** Wraps an unknown error as a transient one unless it already classifies itself. */
export function classify(e: unknown, reason: string, prefix?: string): ReconcileError {
  if (isReconcileError(e)) return e;
  const msg = prefix ? `${prefix}: ${errorMessage(e)}` : errorMessage(e);
  return new TransientError(reason, msg, { cause: e });
}
