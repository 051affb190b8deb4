/** An error answered by the Kubernetes API server, with its HTTP status and Status reason. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  static fromResponse(statusCode: number, method: string, path: string, body: string): ApiError {
    let reason = 'Unknown';
    let message = `${method} ${path}: HTTP ${statusCode}`;
    let details: unknown;
    try {
      const status = JSON.parse(body) as { reason?: string; message?: string; details?: unknown };
      if (status.reason) reason = status.reason;
      if (status.message) message = status.message;
      details = status.details;
    } catch {
      if (body) message = `${message}: ${body.slice(0, 300)}`;
    }
    return new ApiError(statusCode, reason, message, details);
  }
}

export function isApiError(e: unknown): e is ApiError {
  return e instanceof ApiError;
}
export const isNotFound = (e: unknown): boolean => isApiError(e) && e.statusCode === 404;
export const isConflict = (e: unknown): boolean => isApiError(e) && e.statusCode === 409;
export const isGone = (e: unknown): boolean => isApiError(e) && e.statusCode === 410;
export const isForbidden = (e: unknown): boolean => isApiError(e) && e.statusCode === 403;
export const isInvalid = (e: unknown): boolean => isApiError(e) && e.statusCode === 422;
