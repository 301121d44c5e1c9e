/**
 * Errors from the Kubernetes API server, classified once so that callers decide by class, not by status code:
 * a reconciler backs off on `transient`, requeues at once on `conflict`, and stops on `invalid`; the HTTP layer
 * maps the class to its own status codes.
 */
export type KubeErrorClass =
  | 'notFound'
  | 'conflict'
  | 'invalid'
  | 'forbidden'
  | 'unauthorized'
  | 'gone'
  | 'tooManyRequests'
  | 'tooLarge'
  | 'transient';

export interface KubeStatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  readonly statusCode: number;
  /** The Status object's `reason`, e.g. `NotFound`, `Conflict`, `Invalid`, `AlreadyExists`. */
  readonly reason: string;
  readonly causes: KubeStatusCause[];
  readonly retryAfterSeconds: number | undefined;

  constructor(
    statusCode: number,
    reason: string,
    message: string,
    opts: { causes?: KubeStatusCause[]; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.statusCode = statusCode;
    this.reason = reason;
    this.causes = opts.causes ?? [];
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }

  get errorClass(): KubeErrorClass {
    if (this.statusCode === 500 && ETCD_TOO_LARGE.test(this.message)) return 'tooLarge';
    return classifyStatus(this.statusCode);
  }
}

/**
 * An object over etcd's size limit (1.5 MiB by default; 256 facts of 4096 two-byte characters exceed it) is answered
 * with a 500 carrying etcd's message: retrying it cannot help, so it is not an outage.
 */
const ETCD_TOO_LARGE =
  /etcdserver: request is too large|code = ResourceExhausted desc = trying to send message larger than max/;

export function classifyStatus(status: number): KubeErrorClass {
  switch (status) {
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'notFound';
    case 409:
      return 'conflict';
    case 410:
      return 'gone';
    case 400:
    case 422:
      return 'invalid';
    case 429:
      return 'tooManyRequests';
    case 413:
      return 'tooLarge';
    default:
      return 'transient';
  }
}

/** The class of any error: API errors by status, everything else (network, timeouts) is transient. */
export function classify(err: unknown): KubeErrorClass {
  return err instanceof KubeApiError ? err.errorClass : 'transient';
}

export function isNotFound(err: unknown): boolean {
  return classify(err) === 'notFound';
}

/** Only the message and status of an error, never a response body. */
export function errorSummary(err: unknown): { message: string; statusCode?: number } {
  if (err instanceof Error) {
    const statusCode = (err as { statusCode?: number }).statusCode;
    return statusCode === undefined ? { message: err.message } : { message: err.message, statusCode };
  }
  return { message: String(err) };
}
