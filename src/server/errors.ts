/**
 * Typed HTTP errors and the one middleware that turns any error into `{"error": {"code", "message", "field"?}}`.
 * A client's mistake is always a 4xx; a 5xx means the fault is ours or the API server's. Messages never carry
 * request bodies or secret values.
 */
import { STATUS_CODES } from 'node:http';
import { KubeApiError } from '../kube/errors.js';
import { fromKube, WriteError, type WriteErrorKind } from '../writes/errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const badRequest = (message: string, field?: string) =>
  new HttpError(400, 'BadRequest', message, field);
export const unauthorized = (message = 'a valid bearer token is required') =>
  new HttpError(401, 'Unauthorized', message, undefined, { 'www-authenticate': 'Bearer' });
export const forbidden = (message: string) => new HttpError(403, 'Forbidden', message);
export const notFound = (message: string) => new HttpError(404, 'NotFound', message);
export const conflict = (message: string, field?: string) => new HttpError(409, 'Conflict', message, field);
export const preconditionFailed = (message: string) => new HttpError(412, 'PreconditionFailed', message);
export const unavailable = (message: string, retryAfterSeconds = 5, cause?: unknown) =>
  new HttpError(
    503,
    'Unavailable',
    message,
    undefined,
    { 'retry-after': String(retryAfterSeconds) },
    { cause },
  );

/**
 * Maps an API-server error met while serving a request, by way of the write path's classification (one mapping
 * for both): invalid input the API server refused is the client's (400, with the API server's message, which
 * names the field but never echoes a secret value); an outage is 503 with Retry-After.
 */
export function fromKubeError(err: KubeApiError, what: string): HttpError {
  return fromWriteError(fromKube(err, what) as WriteError);
}

/**
 * An error's message as a status line's reason phrase: printable ASCII only (what HTTP allows there without
 * ambiguity), at most 400 characters; the status's own phrase when nothing is left.
 */
export function reasonPhrase(status: number, message: string): string {
  const text = message
    .replace(/[^\x20-\x7e]+/g, ' ')
    .trim()
    .slice(0, 400);
  return text || (STATUS_CODES[status] ?? 'Error');
}

export function errorBody(err: HttpError) {
  return { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } };
}

export const payloadTooLarge = () =>
  new HttpError(413, 'PayloadTooLarge', 'the request body is too large', undefined, { connection: 'close' });
export const tooManyRequests = (message: string, retryAfterSeconds = 5) =>
  new HttpError(429, 'TooManyRequests', message, undefined, { 'retry-after': String(retryAfterSeconds) });
export const methodNotAllowed = (allowed: readonly string[]) =>
  new HttpError(405, 'MethodNotAllowed', `use ${allowed.join(', ')}`, undefined, {
    allow: allowed.join(', '),
  });

/**
 * Any error thrown while serving a request, as an HttpError: ours as they are, the API server's mapped, the
 * framework's client errors (a malformed URL, say) as 400s, and anything else a 500 whose message says nothing.
 */
const WRITE_STATUS: Record<WriteErrorKind, [number, string]> = {
  Invalid: [400, 'BadRequest'],
  NotFound: [404, 'NotFound'],
  Conflict: [409, 'Conflict'],
  PreconditionFailed: [412, 'PreconditionFailed'],
  Forbidden: [403, 'Forbidden'],
  TooLarge: [413, 'PayloadTooLarge'],
  Unavailable: [503, 'Unavailable'],
  Internal: [500, 'Internal'],
};

/** The one mapping from the write path's domain errors to HTTP. */
export function fromWriteError(err: WriteError): HttpError {
  const [status, code] = WRITE_STATUS[err.kind];
  const headers: Record<string, string> =
    err.kind === 'Unavailable' ? { 'retry-after': String(err.retryAfterSeconds ?? 5) } : {};
  return new HttpError(status, code, err.message, err.field, headers, { cause: err.cause ?? err });
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof WriteError) return fromWriteError(err);
  if (err instanceof KubeApiError) return fromKubeError(err, 'request');
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = (err as { code?: unknown }).code;
    if (code === 'FST_ERR_BAD_URL') return badRequest('the URL is not valid (a bad percent-encoding?)');
    if (code === 'FST_ERR_MAX_PARAM_LENGTH') return badRequest('a path segment is too long');
    return new HttpError(status, status === 413 ? 'PayloadTooLarge' : 'BadRequest', 'bad request');
  }
  return new HttpError(500, 'Internal', 'internal error', undefined, {}, { cause: err });
}
