/**
 * The write path's own errors: what went wrong in domain terms, never an HTTP status. The HTTP layer maps each
 * kind to a status in one place (server/errors.ts). Messages name objects, fields and owners, never values.
 */
import { KubeApiError } from '../kube/errors.js';

export type WriteErrorKind =
  | 'Invalid' // the caller's input: 400
  | 'NotFound'
  | 'Conflict' // owned by another field manager, or kept changing
  | 'PreconditionFailed' // If-Match
  | 'Forbidden' // the caller may not touch an object the write would touch
  | 'TooLarge' // the API server refused the object as too large
  | 'Unavailable' // the API server is down or busy: retry
  | 'Internal'; // the operator's own fault (its RBAC, say)

export class WriteError extends Error {
  override readonly name = 'WriteError';
  constructor(
    readonly kind: WriteErrorKind,
    message: string,
    readonly field?: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown; owners?: readonly string[] },
  ) {
    super(message, options);
    if (options?.owners) this.owners = options.owners;
  }
  /** For a conflict with other field managers: who owns the key (`field`). */
  readonly owners?: readonly string[];
}

export const invalid = (message: string, field?: string) => new WriteError('Invalid', message, field);
export const notFound = (message: string) => new WriteError('NotFound', message);
export const conflict = (message: string, field?: string, owners?: readonly string[]) =>
  new WriteError('Conflict', message, field, undefined, owners ? { owners } : undefined);
export const preconditionFailed = (message: string) => new WriteError('PreconditionFailed', message);
export const forbidden = (message: string) => new WriteError('Forbidden', message);

/** Another writer changed the object between our read and our write: read again and re-plan. */
export class StaleWrite extends Error {
  override readonly name = 'StaleWrite';
}

/**
 * An API-server error met while writing `what`. Invalid input the API server refused is the caller's (its message
 * names the field, never a value); an outage is Unavailable; the operator's own missing permission is Internal.
 */
export function fromKube(err: unknown, what: string): unknown {
  if (!(err instanceof KubeApiError)) return err;
  switch (err.errorClass) {
    case 'invalid':
      return new WriteError('Invalid', `${what}: ${err.message}`, err.causes[0]?.field);
    case 'notFound':
      return notFound(`${what}: not found`);
    case 'conflict':
      return conflict(`${what}: ${err.message}`);
    case 'tooLarge':
      return new WriteError('TooLarge', `${what}: the Kubernetes API server refused it as too large`);
    case 'tooManyRequests':
      return new WriteError(
        'Unavailable',
        `${what}: the Kubernetes API server is busy`,
        undefined,
        err.retryAfterSeconds ?? 1,
        { cause: err },
      );
    case 'forbidden':
    case 'unauthorized':
      return new WriteError(
        'Internal',
        `${what}: the operator is not allowed to do this (check its RBAC)`,
        undefined,
        undefined,
        { cause: err },
      );
    default:
      return new WriteError(
        'Unavailable',
        `${what}: the Kubernetes API server is unavailable`,
        undefined,
        err.retryAfterSeconds ?? 5,
        { cause: err },
      );
  }
}
