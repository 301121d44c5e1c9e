/** Identities: list, one, and delete (both objects and the managed Secret). */
import { Router } from 'express';
import { z } from 'zod';
import type { KubeClient } from '../../kube/client.js';
import { KubeApiError } from '../../kube/errors.js';
import { factsPath, secretsPath } from '../../kube/paths.js';
import type { StoreReader } from '../../store/store.js';
import { type Auth, authorize } from '../auth/middleware.js';
import { fromKubeError, notFound } from '../errors.js';
import { NamespaceName, parse, parseIdentity, parseNamespace } from '../validate.js';
import { identityDetail, identitySummary } from '../views.js';
import type { SecretsWriter } from '../writes/secrets-writer.js';
import { waitFor } from '../writes/visibility.js';

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
  client: KubeClient;
  secretsWriter: SecretsWriter;
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
    // Deleting secrets needs its own permission, asked only when the identity has a DeploymentSecrets. Asked of
    // the API server rather than the store, which may not have seen an object created a moment ago.
    const hasSecrets = await deps.client.get(secretsPath(namespace, name)).then(
      () => true,
      (err: unknown) => {
        if (err instanceof KubeApiError && err.errorClass === 'notFound') return false;
        throw err instanceof KubeApiError ? fromKubeError(err, `reading ${namespace}/${name}`) : err;
      },
    );
    await authorize(
      deps.auth,
      res,
      { verb: 'delete', resource: 'deploymentfacts', namespace, name },
      ...(hasSecrets ? [{ verb: 'delete', resource: 'deploymentsecrets', namespace, name } as const] : []),
    );
    let deleted = 0;
    for (const path of [factsPath(namespace, name), secretsPath(namespace, name)]) {
      try {
        await deps.client.delete(path);
        deleted++;
      } catch (err) {
        if (err instanceof KubeApiError && err.errorClass === 'notFound') continue;
        throw err instanceof KubeApiError ? fromKubeError(err, `deleting ${namespace}/${name}`) : err;
      }
    }
    // Owner references would let the garbage collector do this; deleting it here does not depend on one running.
    await deps.secretsWriter.deleteManagedSecret(namespace, name);
    if (deleted === 0) throw notFound(`identity ${namespace}/${name} not found`);
    await waitFor(() => deps.reader.get(namespace, name) === undefined, 10_000);
    res.json({ namespace, name, deleted: true });
  });

  return r;
}
