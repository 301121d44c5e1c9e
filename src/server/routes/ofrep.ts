/**
 * OFREP (OpenFeature Remote Evaluation Protocol): any OpenFeature SDK's OFREP provider reads facts as flags. The
 * flag key is a fact name, `targetingKey` the identity, and the context attribute `namespace` (else the default
 * namespace) its namespace. Values keep their type; the reason is STATIC. Secrets are never served here.
 */
import { createHash } from 'node:crypto';
import { type ErrorRequestHandler, type Request, type Response, Router } from 'express';
import { FactName } from '../../api/facts.js';
import type { StoreReader } from '../../store/store.js';
import { type Auth, authorize } from '../auth/middleware.js';
import { HttpError } from '../errors.js';
import { IdentityName, NamespaceName } from '../validate.js';

export interface OfrepRouteDeps {
  reader: StoreReader;
  auth: Auth;
  defaultNamespace: string;
}

type OfrepErrorCode =
  | 'PARSE_ERROR'
  | 'TARGETING_KEY_MISSING'
  | 'INVALID_CONTEXT'
  | 'GENERAL'
  | 'FLAG_NOT_FOUND';

class OfrepError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: OfrepErrorCode,
    message: string,
  ) {
    super(message);
  }
}

function identityOf(req: Request, defaultNamespace: string): { namespace: string; name: string } {
  const body = req.body as unknown;
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new OfrepError(400, 'PARSE_ERROR', 'the body must be a JSON object with a "context" object');
  }
  const context = (body as { context?: unknown }).context;
  if (context === undefined || context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new OfrepError(400, 'PARSE_ERROR', 'the body must have a "context" object');
  }
  const { targetingKey, namespace } = context as { targetingKey?: unknown; namespace?: unknown };
  if (targetingKey === undefined || targetingKey === '') {
    throw new OfrepError(400, 'TARGETING_KEY_MISSING', 'context.targetingKey (the identity) is required');
  }
  if (!IdentityName.safeParse(targetingKey).success) {
    throw new OfrepError(
      400,
      'INVALID_CONTEXT',
      'context.targetingKey must be an identity name (a DNS subdomain)',
    );
  }
  const ns = namespace ?? defaultNamespace;
  if (!NamespaceName.safeParse(ns).success) {
    throw new OfrepError(400, 'INVALID_CONTEXT', 'context.namespace must be a namespace name');
  }
  return { namespace: ns as string, name: targetingKey as string };
}

function sendError(res: Response, err: unknown, key?: string): boolean {
  if (!(err instanceof OfrepError)) return false;
  res
    .status(err.status)
    .json({ ...(key !== undefined ? { key } : {}), errorCode: err.errorCode, errorDetails: err.message });
  return true;
}

/**
 * Errors raised before the OFREP handlers (a body that is not JSON, a body over the limit, an API-server outage)
 * in OFREP's own shape, so that OFREP providers can read them. 401/403 keep the API's shape: OFREP gives them
 * no body.
 */
export const ofrepErrors: ErrorRequestHandler = (err, _req, res, next) => {
  if (!(err instanceof HttpError) && !(err as { type?: string }).type?.startsWith('entity.'))
    return next(err);
  const status = err instanceof HttpError ? err.status : ((err as { status?: number }).status ?? 400);
  if (status === 401 || status === 403) return next(err);
  const errorCode = status >= 500 ? 'GENERAL' : 'PARSE_ERROR';
  const message =
    status === 413
      ? 'the request body is too large'
      : err instanceof HttpError
        ? err.message
        : 'the request body is not valid JSON';
  if (err instanceof HttpError) res.set(err.headers);
  res.status(status).json({ errorCode, errorDetails: message });
};

export function ofrepRouter(deps: OfrepRouteDeps): Router {
  const r = Router();

  r.post('/evaluate/flags/:key', async (req, res) => {
    const key = req.params.key;
    try {
      const { namespace, name } = identityOf(req, deps.defaultNamespace);
      await authorize(deps.auth, res, { verb: 'get', resource: 'deploymentfacts', namespace, name });
      const facts = deps.reader.get(namespace, name)?.facts?.values;
      if (!facts || !FactName.safeParse(key).success || !Object.hasOwn(facts, key)) {
        throw new OfrepError(404, 'FLAG_NOT_FOUND', `no fact ${key} for identity ${namespace}/${name}`);
      }
      const value = facts[key]!;
      res.json({ key, reason: 'STATIC', variant: String(value), value, metadata: {} });
    } catch (err) {
      if (!sendError(res, err, key)) throw err;
    }
  });

  r.post('/evaluate/flags', async (req, res) => {
    try {
      const { namespace, name } = identityOf(req, deps.defaultNamespace);
      await authorize(deps.auth, res, { verb: 'get', resource: 'deploymentfacts', namespace, name });
      const identity = deps.reader.get(namespace, name);
      // The ETag changes whenever the identity's facts change: it hashes the identity and its store revision.
      const etag = `"${createHash('sha256')
        .update(`${deps.reader.epoch}/${namespace}/${name}@${identity?.revision ?? 0}`)
        .digest('hex')
        .slice(0, 20)}"`;
      res.set('etag', etag);
      const inm = req.get('if-none-match');
      if (inm?.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
        res.status(304).end();
        return;
      }
      const facts = identity?.facts?.values ?? {};
      res.json({
        flags: Object.entries(facts).map(([key, value]) => ({
          key,
          reason: 'STATIC',
          variant: String(value),
          value,
          metadata: {},
        })),
        metadata: {},
      });
    } catch (err) {
      if (!sendError(res, err)) throw err;
    }
  });

  return r;
}
