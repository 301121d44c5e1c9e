/**
 * CORS for the routes that serve other origins (`cors: true`: OFREP and the read API), and only for the origins
 * --cors-allowed-origins names. `*` means any real origin, never `null` or anything that is not an origin: it is
 * not echoed.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isOrigin } from '../origin.js';

/** Headers a browser on an allowed origin may send, and read. */
const CORS_ALLOW_HEADERS = 'Authorization, Content-Type, If-None-Match, X-API-Key, Last-Event-ID';
const CORS_EXPOSE_HEADERS = 'ETag, X-Request-Id, Retry-After';

export interface CorsPolicy {
  /** Headers of an answer on a `cors` route. */
  decorate(request: FastifyRequest, reply: FastifyReply): void;
  /** Answers a preflight for one of `methods` from an allowed origin; false for anything else. */
  preflight(request: FastifyRequest, reply: FastifyReply, methods: readonly string[]): boolean;
}

/** Undefined without allowed origins: no route answers with CORS headers, and no preflight succeeds. */
export function corsPolicy(allowedOrigins: readonly string[] | undefined): CorsPolicy | undefined {
  if (!allowedOrigins?.length) return undefined;
  const origins = new Set(allowedOrigins);
  const allowed = (origin: string | undefined): origin is string =>
    origin !== undefined && (origins.has(origin) || (origins.has('*') && isOrigin(origin)));
  return {
    decorate(request, reply) {
      reply.header('vary', 'Origin');
      const origin = request.headers.origin;
      if (allowed(origin))
        reply
          .header('access-control-allow-origin', origin)
          .header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
    },
    preflight(request, reply, methods) {
      const origin = request.headers.origin;
      const wanted = request.headers['access-control-request-method']?.toUpperCase();
      if (request.method !== 'OPTIONS' || !allowed(origin) || !wanted || !methods.includes(wanted))
        return false;
      reply
        .code(204)
        .headers({
          vary: 'Origin',
          'access-control-allow-origin': origin,
          'access-control-allow-methods': methods.join(', '),
          'access-control-allow-headers': CORS_ALLOW_HEADERS,
          'access-control-max-age': '600',
        })
        .send();
      return true;
    },
  };
}
