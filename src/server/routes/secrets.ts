/**
 * Secret values of one identity. The only routes that reveal secret values, and only to callers allowed
 * `get deploymentsecrets/values` in the namespace. Not served to other origins (no CORS).
 */
import { z } from 'zod';
import { revealAll } from '../../store/secret-value.js';
import type { StoreReader } from '../../store/store.js';
import { notFound } from '../errors.js';
import { route } from '../route-spec.js';
import { ID_PARAM, NAME_PARAM, NS_PARAM, SecretValueBody, WriteQuery } from '../validate.js';

/** `{name: value}` of an identity's resolved secrets, or undefined when it has none. Checks nothing: callers authorise. */
export function secretValues(
  reader: StoreReader,
  namespace: string,
  name: string,
): Record<string, string> | undefined {
  const secrets = reader.get(namespace, name)?.secrets;
  return secrets ? revealAll(secrets.values) : undefined;
}

const BASE = '/api/v1/namespaces/:ns/identities/:id/secrets';
const ids = { ns: NS_PARAM, id: ID_PARAM };
const idsAndName = { ...ids, name: NAME_PARAM };
const read = {
  verb: 'get',
  resource: 'deploymentsecrets',
  subresource: 'values',
  namespace: { param: 'ns' },
  name: { param: 'id' },
} as const;
const update = { ...read, verb: 'update' } as const;
const tags = ['secrets'];
const Values = z.record(z.string(), z.string());

export const secretsRoutes = [
  route({
    method: 'GET',
    path: BASE,
    tags,
    summary: 'Resolved secret values',
    params: ids,
    permission: read,
    watchedNamespace: true,
    responses: { 200: { description: 'the values (Cache-Control: no-store)', schema: Values } },
    errors: [400, 401, 403, 404],
    handler: ({ params: { ns, id }, deps, reply }) => {
      const values = secretValues(deps.reader, ns, id);
      if (!values) throw notFound(`identity ${ns}/${id} has no secrets`);
      reply.header('cache-control', 'no-store');
      return values;
    },
  }),
  route({
    method: 'GET',
    path: `${BASE}/:name`,
    tags,
    summary: 'One secret value',
    params: idsAndName,
    permission: read,
    watchedNamespace: true,
    responses: { 200: { description: '`{"<name>": "<value>"}` (Cache-Control: no-store)', schema: Values } },
    errors: [400, 401, 403, 404],
    handler: ({ params: { ns, id, name }, deps, reply }) => {
      const values = secretValues(deps.reader, ns, id);
      if (!values || !Object.hasOwn(values, name)) throw notFound(`secret ${name} not found in ${ns}/${id}`);
      reply.header('cache-control', 'no-store');
      return { [name]: values[name] };
    },
  }),
  route({
    method: 'PUT',
    path: `${BASE}/:name`,
    tags,
    summary: 'Store a value in the operator-managed Secret and reference it',
    params: idsAndName,
    query: WriteQuery,
    permission: update,
    watchedNamespace: true,
    body: SecretValueBody,
    responses: {
      200: {
        description: 'stored and visible; 202 when not yet visible on this replica',
        schema: z.object({ name: z.string(), stored: z.boolean() }),
      },
    },
    errors: [400, 401, 403, 409, 413],
    handler: async ({ params: { ns, id, name }, query, body, deps, user, reply }) => {
      const visible = await deps.writer.putSecret(ns, id, name, body.value, {
        force: query.force,
        origin: `user:${user.username}`,
      });
      reply.code(visible ? 200 : 202);
      return { name, stored: true };
    },
  }),
  route({
    method: 'DELETE',
    path: `${BASE}/:name`,
    tags,
    summary: 'Remove one secret',
    params: idsAndName,
    query: WriteQuery,
    permission: update,
    watchedNamespace: true,
    responses: {
      200: { description: 'removed', schema: z.object({ name: z.string(), deleted: z.boolean() }) },
    },
    errors: [400, 401, 403, 404, 409],
    handler: async ({ params: { ns, id, name }, query, deps, user }) => {
      await deps.writer.removeSecret(ns, id, name, { force: query.force, origin: `user:${user.username}` });
      return { name, deleted: true };
    },
  }),
];
