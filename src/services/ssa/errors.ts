/**
 * Failures of apply, prune and health, worded the way Flux words them
 * (`Deployment/team-b/web dry-run failed (Forbidden): …`) so the message in the Ready
 * condition names the object, the operation and the server's reason.
 */
import { isApiError } from '../../runtime/client/errors.ts';
import { describeRef, type ObjectRef } from '../../runtime/client/objects.ts';
import { errorMessage, TransientError } from '../../runtime/errors.ts';
import type { ChangeSetEntry } from './changeset.ts';
import type { InventoryEntry } from './inventory.ts';

/** Flux's reasons (fluxcd/pkg/apis/meta) for the failures raised here. */
export const SsaReason = {
  ReconciliationFailed: 'ReconciliationFailed',
  PruneFailed: 'PruneFailed',
  HealthCheckFailed: 'HealthCheckFailed',
} as const;

export type Operation = 'dry-run' | 'apply' | 'query' | 'cleanup' | 'delete' | 'recreate';

export interface ObjectFailure {
  ref: ObjectRef;
  /** The line for the user: object, operation, server reason, what the server said. */
  message: string;
  /** The API server refused the identity (403): RBAC, not the manifest, must change. */
  forbidden: boolean;
  cause: unknown;
}

interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

function causesOf(e: unknown): StatusCause[] {
  if (!isApiError(e)) return [];
  const details = e.details as { causes?: unknown } | undefined;
  return Array.isArray(details?.causes) ? (details.causes as StatusCause[]) : [];
}

/** Validation messages quote the whole rejected value (a PodTemplateSpec is kilobytes); keep the verdict. */
function shortenCause(message: string): string {
  if (message.length <= 200) return message;
  const i = message.lastIndexOf(': ');
  return i < 0 ? `${message.slice(0, 200)}…` : `Invalid value: …: ${message.slice(i + 2)}`;
}

/** The server's message, with huge quoted values cut out of validation errors. */
export function serverMessage(e: unknown): string {
  if (!isApiError(e)) return errorMessage(e);
  const causes = causesOf(e);
  if (e.statusCode === 422 && causes.length && e.message.length > 300) {
    const head = e.message.includes(' is invalid: ') ? e.message.slice(0, e.message.indexOf(' is invalid: ') + ' is invalid'.length) : 'invalid';
    return `${head}: ${causes.map((c) => `${c.field ?? ''}: ${shortenCause(c.message ?? c.reason ?? '')}`).join(', ')}`;
  }
  return e.message.length > 2000 ? `${e.message.slice(0, 2000)}…` : e.message;
}

const IMMUTABLE = /immutable|may not change once set|updates to .* are forbidden|cannot be changed|cannot change/i;

/**
 * The fields an update may not change, when `e` is such a refusal (422 naming an immutable
 * field); undefined for any other error. Unlike Flux, a plain validation error does not
 * count, so `force` never deletes an object whose new version would be refused anyway.
 */
export function immutableFields(e: unknown): string[] | undefined {
  if (!isApiError(e) || e.statusCode !== 422) return undefined;
  const causes = causesOf(e).filter((c) => IMMUTABLE.test(c.message ?? ''));
  if (causes.length) return causes.map((c) => c.field ?? '').filter(Boolean);
  return IMMUTABLE.test(e.message) ? [] : undefined;
}

/** A failure found before any request: the manifest itself is at fault. */
export function manifestFailure(ref: ObjectRef, message: string): ObjectFailure {
  return { ref, message, forbidden: false, cause: undefined };
}

export function objectFailure(ref: ObjectRef, op: Operation, e: unknown): ObjectFailure {
  const subject = describeRef(ref);
  const forbidden = isApiError(e) && e.statusCode === 403;
  let message: string;
  if (isApiError(e) && e.statusCode === 404 && (op === 'dry-run' || op === 'apply')) {
    message = ref.namespace ? `${subject} not found: ${serverMessage(e)}` : `${subject} namespace not specified: ${serverMessage(e)}`;
  } else if (isApiError(e)) {
    message = `${subject} ${op} failed (${e.reason}): ${serverMessage(e)}`;
  } else {
    message = `${subject} ${op} failed: ${errorMessage(e)}`;
  }
  return { ref, message, forbidden, cause: e };
}

/** Some objects could not be applied; the ones before them may have been. Retried with backoff. */
export class ApplyError extends TransientError {
  constructor(
    readonly failures: ObjectFailure[],
    /** What was applied before the failure (also the objects of earlier stages). */
    readonly changeSet: ChangeSetEntry[],
  ) {
    super(SsaReason.ReconciliationFailed, failures.map((f) => f.message).join('\n'));
  }

  /** Every failure is a refusal of the identity (403): the tenant's RBAC must change. */
  get forbidden(): boolean {
    return this.failures.length > 0 && this.failures.every((f) => f.forbidden);
  }
}

/** Some stale objects could not be deleted; `survivors` belong back in the inventory. */
export class PruneError extends TransientError {
  constructor(
    readonly failures: ObjectFailure[],
    readonly changeSet: ChangeSetEntry[],
    readonly survivors: InventoryEntry[],
  ) {
    super(SsaReason.PruneFailed, `delete failed, errors: ${failures.map((f) => f.message).join('; ')}`);
  }
}
