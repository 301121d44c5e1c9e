/**
 * A request id on every request (taken from X-Request-Id when it is sane, else generated), echoed in the
 * response and logged with the route template, status and duration: at debug, or at error for a 5xx. Never the
 * query, headers or body.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

const SANE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export function requestLog(log: Logger, template: (path: string) => string): RequestHandler {
  return (req, res, next) => {
    const incoming = req.get('x-request-id');
    const requestId = incoming && SANE_ID.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = requestId;
    res.set('x-request-id', requestId);
    const started = performance.now();
    res.on('finish', () => {
      const status = res.statusCode;
      log[status >= 500 ? 'error' : 'debug'](
        {
          requestId,
          method: req.method,
          route: template(req.originalUrl.split('?', 1)[0] ?? ''),
          status,
          durationMs: Math.round(performance.now() - started),
        },
        'request',
      );
    });
    next();
  };
}
