/**
 * Typed HTTP errors and the one middleware that turns any error into `{"error": {"code", "message", "field"?}}`.
 * A client's mistake is always a 4xx; a 5xx means the fault is ours or the API server's. Messages never carry
 * request bodies or secret values.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { KubeApiError } from '../kube/errors.js';
import { WriteError, type WriteErrorKind } from '../writes/errors.js';

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
 * Maps an API-server error met while serving a request. Invalid input the API server refused is the client's
 * (422 → 400 with the API server's message, which names the field but never echoes a secret value); an outage
 * is 503 with Retry-After.
 */
export function fromKubeError(err: KubeApiError, what: string): HttpError {
  switch (err.errorClass) {
    case 'invalid': {
      const cause = err.causes[0];
      return badRequest(`${what}: ${err.message}`, cause?.field);
    }
    case 'notFound':
      return notFound(`${what}: not found`);
    case 'conflict':
      return conflict(`${what}: ${err.message}`);
    case 'tooLarge':
      return new HttpError(
        413,
        'PayloadTooLarge',
        `${what}: the Kubernetes API server refused it as too large`,
      );
    case 'tooManyRequests':
      return unavailable(`${what}: the Kubernetes API server is busy`, err.retryAfterSeconds ?? 1, err);
    case 'forbidden':
    case 'unauthorized':
      // The operator's own ServiceAccount lacks a permission: a deployment problem, not the caller's.
      return new HttpError(
        500,
        'Internal',
        `${what}: the operator is not allowed to do this (check its RBAC)`,
        undefined,
        {},
        { cause: err },
      );
    default:
      return unavailable(
        `${what}: the Kubernetes API server is unavailable`,
        err.retryAfterSeconds ?? 5,
        err,
      );
  }
}

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

export function errorBody(err: HttpError) {
  return { error: { code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) } };
}

/** Body-parser errors carry `type` and `status`; they are the client's. */
function fromParserError(err: { type?: string; status?: number; message?: string }): HttpError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return badRequest('the request body is not valid JSON');
    case 'entity.too.large':
      return new HttpError(413, 'PayloadTooLarge', 'the request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpError(415, 'UnsupportedMediaType', 'unsupported body encoding');
    case 'request.aborted':
      return badRequest('the request was aborted');
    default:
      return err.status && err.status >= 400 && err.status < 500
        ? new HttpError(err.status, 'BadRequest', 'bad request')
        : undefined;
  }
}

export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let httpError: HttpError;
    if (err instanceof HttpError) httpError = err;
    else if (err instanceof WriteError) httpError = fromWriteError(err);
    else if (err instanceof KubeApiError) httpError = fromKubeError(err, 'request');
    else httpError = fromParserError(err as never) ?? new HttpError(500, 'Internal', 'internal error');
    if (httpError.status >= 500) {
      const cause = (httpError.cause ?? err) as { message?: string; name?: string };
      log.error(
        {
          requestId: res.locals.requestId,
          method: req.method,
          status: httpError.status,
          err: cause?.message,
        },
        'request failed',
      );
    }
    if (res.headersSent) return;
    res.status(httpError.status).set(httpError.headers).json(errorBody(httpError));
  };
}
