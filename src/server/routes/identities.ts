/** Identities: list, one, and delete (both objects and the managed Secret). */
import { z } from 'zod';
import { FactMap } from '../../api/facts.js';
import { WriteError } from '../../writes/errors.js';
import { notFound } from '../errors.js';
import { route } from '../route-spec.js';
import { ExplainQuery, ID_PARAM, NamespaceName, NS_PARAM } from '../validate.js';
import { identityDetail, identitySummary } from '../views.js';

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
  explain: z
    .record(
      z.string(),
      z.object({
        value: z.unknown(),
        from: z.object({ kind: z.string(), namespace: z.string().optional(), name: z.string() }).loose(),
        overrode: z.array(z.object({ from: z.unknown(), value: z.unknown() })),
      }),
    )
    .optional()
    .describe('with ?explain=true: per fact, the winning layer and the layers it overrode'),
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
    watchedNamespace: true,
    cors: true,
    responses: {
      200: {
        description: 'a page of identities',
        schema: z.object({ items: z.array(IdentitySummary), continue: z.string().optional() }),
      },
    },
    errors: [400, 401, 403, 404],
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
    summary: 'One identity: facts, secret key names, status; ?explain=true says where each fact comes from',
    params: ids,
    query: ExplainQuery,
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
    handler: ({ params: { ns, id }, query, deps }) => {
      const identity = deps.reader.get(ns, id);
      if (!identity) throw notFound(`identity ${ns}/${id} not found`);
      return identityDetail(identity, { explain: query.explain });
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
      // The framework has checked delete on the DeploymentFacts. Delete on the DeploymentSecrets is asked here,
      // before any call to the API server; the writer deletes only what these answers allow, each object guarded
      // by the version it read, so nothing created meanwhile is deleted without its permission.
      const secretsPerm = { verb: 'delete', resource: 'deploymentsecrets', namespace, name } as const;
      const secrets = await deps.auth.authorizer.allowed(ctx.user, secretsPerm);
      try {
        await deps.writer.deleteIdentity(namespace, name, { facts: true, secrets });
      } catch (err) {
        // Refused for the secrets: name the missing permission as any other refusal does (401/403).
        if (err instanceof WriteError && err.kind === 'Forbidden') await ctx.authorize(secretsPerm);
        throw err;
      }
      return { namespace, name, deleted: true };
    },
  }),
];
