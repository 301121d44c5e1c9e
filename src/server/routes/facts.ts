/** Facts of one identity: read from the store, written through the API server with server-side apply. */
import { FactMap, type FactValue } from '../../api/facts.js';
import { JSON_UTF8, servedFacts } from '../../store/serialized.js';
import type { FactsChange } from '../../writes/writer.js';
import { notFound } from '../errors.js';
import { type RouteContext, route } from '../route-spec.js';
import {
  etagMatches,
  FactsPatchBody,
  FactValueBody,
  ID_PARAM,
  IF_MATCH_HEADER,
  IF_NONE_MATCH_HEADER,
  NAME_PARAM,
  NS_PARAM,
  parseIfMatch,
  WriteQuery,
} from '../validate.js';
import { FactsAsOfQuery, historicalFacts } from './history.js';

const BASE = '/api/v1/namespaces/:ns/identities/:id/facts';
const ids = { ns: NS_PARAM, id: ID_PARAM };
const idsAndName = { ...ids, name: NAME_PARAM };
const get = {
  verb: 'get',
  resource: 'deploymentfacts',
  namespace: { param: 'ns' },
  name: { param: 'id' },
} as const;
const patch = { ...get, verb: 'patch' } as const;
const tags = ['facts'];
const ok = (description = 'the facts') => ({ 200: { description, schema: FactMap } });

/** A write with the request's ?force, If-Match and user, answered with its status (200 visible, 202 not yet) and ETag. */
async function write(
  ctx: RouteContext<{ ns: string; id: string }, WriteQuery, unknown>,
  change: Pick<FactsChange, 'set' | 'remove'>,
) {
  const result = await ctx.deps.writer.writeFacts(ctx.params.ns, ctx.params.id, {
    ...change,
    force: ctx.query.force,
    ifMatch: parseIfMatch(ctx.request.headers['if-match']),
    origin: `user:${ctx.user.username}`,
  });
  ctx.reply.code(result.visible ? 200 : 202).header('etag', `"${result.generation}"`);
  return result;
}

export const factsRoutes = [
  route({
    method: 'GET',
    path: BASE,
    tags,
    summary:
      'All served facts as a flat map; ETag `"<generation>.<hash of the served facts>"` (If-Match compares the generation); If-None-Match gives 304; ?revision or ?asOf: from the history',
    params: ids,
    query: FactsAsOfQuery,
    permission: get,
    watchedNamespace: true,
    cors: true,
    docParameters: [IF_NONE_MATCH_HEADER],
    responses: { ...ok(), 304: { description: 'not modified' } },
    errors: [400, 401, 403, 404],
    handler: (ctx) => {
      const {
        params: { ns, id },
        deps,
        request,
        reply,
        query,
      } = ctx;
      if (query.revision !== undefined || query.asOf !== undefined) return historicalFacts(ctx);
      const facts = deps.reader.get(ns, id)?.facts;
      if (!facts) throw notFound(`identity ${ns}/${id} has no facts`);
      // Serialized once per change (store/serialized.ts): the read is a lookup.
      const served = servedFacts(facts);
      reply.header('etag', served.etag);
      if (etagMatches(request.headers['if-none-match'], served.etag)) return reply.code(304).send();
      return reply.type(JSON_UTF8).send(served.body);
    },
  }),
  route({
    method: 'PATCH',
    path: BASE,
    tags,
    summary:
      'Set several facts; a null value removes that fact (server-side apply as flagops-data-store-api)',
    params: ids,
    query: WriteQuery,
    permission: patch,
    watchedNamespace: true,
    body: FactsPatchBody,
    docParameters: [IF_MATCH_HEADER],
    responses: ok('the facts after the write; 202 when not yet visible on this replica'),
    errors: [400, 401, 403, 404, 409, 412, 413],
    handler: async (ctx) => {
      const set: Record<string, FactValue> = {};
      const remove: string[] = [];
      for (const [key, value] of Object.entries(ctx.body)) {
        if (value === null) remove.push(key);
        else set[key] = value;
      }
      return (await write(ctx, { set, remove })).facts;
    },
  }),
  route({
    method: 'GET',
    path: `${BASE}/:name`,
    tags,
    summary: 'One fact',
    params: idsAndName,
    permission: get,
    watchedNamespace: true,
    cors: true,
    responses: ok('`{"<name>": value}`'),
    errors: [400, 401, 403, 404],
    handler: ({ params: { ns, id, name }, deps, reply }) => {
      const facts = deps.reader.get(ns, id)?.facts;
      if (!facts || !Object.hasOwn(facts.values, name))
        throw notFound(`fact ${name} not found in ${ns}/${id}`);
      reply.header('etag', servedFacts(facts).etag);
      return { [name]: facts.values[name] };
    },
  }),
  route({
    method: 'PUT',
    path: `${BASE}/:name`,
    tags,
    summary: 'Set one fact, creating the DeploymentFacts if needed',
    params: idsAndName,
    query: WriteQuery,
    permission: patch,
    watchedNamespace: true,
    body: FactValueBody,
    docParameters: [IF_MATCH_HEADER],
    responses: ok('`{"<name>": value}`; 202 when not yet visible on this replica'),
    errors: [400, 401, 403, 409, 412, 413],
    handler: async (ctx) => {
      const { name } = ctx.params;
      await write(ctx, { set: { [name]: ctx.body.value } });
      return { [name]: ctx.body.value };
    },
  }),
  route({
    method: 'DELETE',
    path: `${BASE}/:name`,
    tags,
    summary: 'Remove one fact',
    params: idsAndName,
    query: WriteQuery,
    permission: patch,
    watchedNamespace: true,
    docParameters: [IF_MATCH_HEADER],
    responses: ok('the remaining facts'),
    errors: [400, 401, 403, 404, 409, 412],
    handler: async (ctx) => (await write(ctx, { remove: [ctx.params.name] })).facts,
  }),
];
