/** Identities: list, one, and delete (both objects and the managed Secret). */
import { z } from 'zod';
import { FactMap } from '../../api/facts.js';
import { KubeApiError } from '../../kube/errors.js';
import { factsPath, secretsPath } from '../../kube/paths.js';
import { fromKubeError, notFound } from '../errors.js';
import { route } from '../route.js';
import { ID_PARAM, NamespaceName, NS_PARAM } from '../validate.js';
import { identityDetail, identitySummary } from '../views.js';
import { waitFor } from '../writes/visibility.js';

export const ListQuery = z
  .object({
    namespace: NamespaceName.optional(),
    prefix: z.string().max(253).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    continue: z.string().max(600).optional(),
  })
  .strict();

const IdentitySummary = z.object({
  namespace: z.string(),
  name: z.string(),
  factCount: z.number().int(),
  secretKeys: z.array(z.string()).describe('names only, never values'),
  ready: z.boolean(),
  revision: z.number().int(),
});
const IdentityDetail = z.object({
  namespace: z.string(),
  name: z.string(),
  facts: FactMap,
  secretKeys: z.array(z.string()),
  status: z.object({ facts: z.unknown(), secrets: z.unknown() }),
  revision: z.number().int(),
});

const ONE = '/api/v1/namespaces/:ns/identities/:id';
const ids = { ns: NS_PARAM, id: ID_PARAM };
const tags = ['identities'];

export const identitiesRoutes = [
  route({
    method: 'GET',
    path: '/api/v1/identities',
    tags,
    summary: 'List identities',
    query: ListQuery,
    permission: { verb: 'list', resource: 'deploymentfacts', namespace: { query: 'namespace' } },
    cors: true,
    responses: {
      200: {
        description: 'a page of identities',
        schema: z.object({ items: z.array(IdentitySummary), continue: z.string().optional() }),
      },
    },
    errors: [400, 401, 403],
    handler: ({ query: q, deps }) => {
      const page = deps.reader.list({
        namespace: q.namespace,
        prefix: q.prefix,
        limit: q.limit ?? 100,
        continue: q.continue,
      });
      return {
        items: page.items.map(identitySummary),
        ...(page.continue ? { continue: page.continue } : {}),
      };
    },
  }),
  route({
    method: 'GET',
    path: ONE,
    tags,
    summary: 'One identity: facts, secret key names, status',
    params: ids,
    permission: {
      verb: 'get',
      resource: 'deploymentfacts',
      namespace: { param: 'ns' },
      name: { param: 'id' },
    },
    watchedNamespace: true,
    cors: true,
    responses: { 200: { description: 'the identity', schema: IdentityDetail } },
    errors: [400, 401, 403, 404],
    handler: ({ params: { ns, id }, deps }) => {
      const identity = deps.reader.get(ns, id);
      if (!identity) throw notFound(`identity ${ns}/${id} not found`);
      return identityDetail(identity);
    },
  }),
  route({
    method: 'DELETE',
    path: ONE,
    tags,
    summary:
      'Delete the DeploymentFacts, the DeploymentSecrets and the managed Secret (also needs delete deploymentsecrets when the identity has a DeploymentSecrets)',
    params: ids,
    permission: {
      verb: 'delete',
      resource: 'deploymentfacts',
      namespace: { param: 'ns' },
      name: { param: 'id' },
    },
    watchedNamespace: true,
    responses: {
      200: {
        description: 'deleted',
        schema: z.object({ namespace: z.string(), name: z.string(), deleted: z.boolean() }),
      },
    },
    errors: [400, 401, 403, 404],
    handler: async (ctx) => {
      const { ns: namespace, id: name } = ctx.params;
      const { deps } = ctx;
      // Deleting secrets needs its own permission, asked only when the identity has a DeploymentSecrets. Asked of
      // the API server rather than the store, which may not have seen an object created a moment ago.
      const hasSecrets = await deps.client.get(secretsPath(namespace, name)).then(
        () => true,
        (err: unknown) => {
          if (err instanceof KubeApiError && err.errorClass === 'notFound') return false;
          throw err instanceof KubeApiError ? fromKubeError(err, `reading ${namespace}/${name}`) : err;
        },
      );
      if (hasSecrets) await ctx.authorize({ verb: 'delete', resource: 'deploymentsecrets', namespace, name });
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
      return { namespace, name, deleted: true };
    },
  }),
];
