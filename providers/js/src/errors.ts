import { GeneralError } from '@openfeature/core';

/**
 * Why facts could not be read:
 * - `unreachable`: connection refused, timeout, 5xx — the store is down or overloaded;
 * - `unauthorized`: 401/403 — our token is missing, expired or lacks RBAC;
 * - `invalid-response`: the store answered something that is not a facts map, or a fact whose value is
 *   not a string, a number or a boolean.
 */
export type StoreErrorKind = 'unreachable' | 'unauthorized' | 'invalid-response';

/**
 * A failed facts lookup. It is an OpenFeature `GeneralError`, so when the hook throws it the SDK
 * turns it into the caller's default value with error code `GENERAL` and this message.
 */
export class FlagopsStoreError extends GeneralError {
  /** HTTP status the store answered with, when it answered at all. */
  readonly status: number | undefined;

  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options);
    // The SDK's error classes pin their own prototype, which would hide this subclass.
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'FlagopsStoreError';
    this.status = options?.status;
  }
}

/** A one-line description of whatever `fetch` threw, including undici's nested `cause`. */
export function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'request timed out';
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message;
  }
  return err.message;
}
