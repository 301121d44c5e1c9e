/**
 * Every error answer: a handler's throw, a framework error (a malformed URL, say), an unknown path. Written in the
 * route's format: the API's `{"error": …}`, the prototype's (the message also as the reason phrase) or OFREP's
 * bodies. A 5xx is logged with its cause's message; a client's mistake is not.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorBody, HttpError, notFound, reasonPhrase, toHttpError } from '../errors.js';
import type { AnyRoute } from '../route-spec.js';
import { OfrepError, ofrepError } from '../routes/ofrep.js';
import { appWide } from './app-wide.js';

export type SendError = (
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  route: AnyRoute | undefined,
) => FastifyReply;

export function errorSender(log: Logger): SendError {
  return (request, reply, err, r) => {
    const e = err instanceof OfrepError ? err : toHttpError(err);
    if (e instanceof HttpError && e.status >= 500) {
      const cause = (e.cause ?? err) as { message?: string } | undefined;
      log.error(
        { requestId: request.id, method: request.method, status: e.status, err: cause?.message },
        'request failed',
      );
    }
    if (reply.sent || reply.raw.headersSent) return reply;
    reply.header('x-request-id', request.id);
    const format = r?.errorFormat ?? 'api';
    if (format === 'prototype') {
      const h = toHttpError(e);
      reply.raw.statusMessage = reasonPhrase(h.status, h.message);
      return reply.code(h.status).headers(h.headers).send(errorBody(h));
    }
    if (format !== 'api') {
      const key = (request.params as { key?: string } | undefined)?.key;
      const o = ofrepError(e, format, key);
      return reply.code(o.status).headers(o.headers).send(o.body);
    }
    const h = e instanceof OfrepError ? new HttpError(e.status, 'BadRequest', e.message) : e;
    return reply.code(h.status).headers(h.headers).send(errorBody(h));
  };
}

/** The app's error and not-found handlers. */
export const errorHandlers = appWide<{ sendError: SendError }>((app, { sendError }, done) => {
  app.setErrorHandler((err, request, reply) =>
    sendError(request, reply, err, (request.routeOptions.config as { route?: AnyRoute }).route),
  );
  app.setNotFoundHandler((request, reply) =>
    sendError(
      request,
      reply,
      notFound(`no route for ${request.method} ${(request.url.split('?', 1)[0] ?? '').slice(0, 200)}`),
      undefined,
    ),
  );
  done();
});
