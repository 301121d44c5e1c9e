/** Identities: list, one, and delete (both objects and the managed Secret). */
import { Router } from 'express';
import { z } from 'zod';
import type { StoreReader } from '../../store/store.js';
import { WriteError } from '../../writes/errors.js';
import type { IdentityWriter } from '../../writes/identity-writer.js';
import { type Auth, allowedTo, authorize } from '../auth/middleware.js';
import { notFound } from '../errors.js';
import { NamespaceName, parse, parseIdentity, parseNamespace } from '../validate.js';
import { identityDetail, identitySummary } from '../views.js';

export const ListQuery = z
  .object({
    namespace: NamespaceName.optional(),
    prefix: z.string().max(253).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    continue: z.string().max(600).optional(),
  })
  .strict();

export interface IdentitiesRouteDeps {
  reader: StoreReader;
  auth: Auth;
  writer: IdentityWriter;
}

export function identitiesRouter(deps: IdentitiesRouteDeps): Router {
  const r = Router();

  r.get('/identities', async (req, res) => {
    const q = parse(ListQuery, req.query, 'query');
    await authorize(deps.auth, res, { verb: 'list', resource: 'deploymentfacts', namespace: q.namespace });
    const page = deps.reader.list({
      namespace: q.namespace,
      prefix: q.prefix,
      limit: q.limit ?? 100,
      continue: q.continue,
    });
    res.json({
      items: page.items.map(identitySummary),
      ...(page.continue ? { continue: page.continue } : {}),
    });
  });

  r.get('/namespaces/:ns/identities/:id', async (req, res) => {
    const namespace = parseNamespace(req.params.ns);
    const name = parseIdentity(req.params.id);
    await authorize(deps.auth, res, { verb: 'get', resource: 'deploymentfacts', namespace, name });
    const identity = deps.reader.get(namespace, name);
    if (!identity) throw notFound(`identity ${namespace}/${name} not found`);
    res.json(identityDetail(identity));
  });

  r.delete('/namespaces/:ns/identities/:id', async (req, res) => {
    const namespace = parseNamespace(req.params.ns);
    const name = parseIdentity(req.params.id);
    const factsPerm = { verb: 'delete', resource: 'deploymentfacts', namespace, name } as const;
    const secretsPerm = { verb: 'delete', resource: 'deploymentsecrets', namespace, name } as const;
    // Both answers before any call to the API server; the writer then deletes only what they allow, each object
    // guarded by the version it read, so nothing created meanwhile is deleted without its permission.
    const [facts, secrets] = await Promise.all([
      allowedTo(deps.auth, res, factsPerm),
      allowedTo(deps.auth, res, secretsPerm),
    ]);
    if (!facts && !secrets) await authorize(deps.auth, res, factsPerm);
    try {
      await deps.writer.deleteIdentity(namespace, name, { facts, secrets });
    } catch (err) {
      // Refused for an object the caller may not delete: say which permission is missing, as authorize does.
      if (err instanceof WriteError && err.kind === 'Forbidden')
        await authorize(deps.auth, res, ...(facts ? [] : [factsPerm]), ...(secrets ? [] : [secretsPerm]));
      throw err;
    }
    res.json({ namespace, name, deleted: true });
  });

  return r;
}
