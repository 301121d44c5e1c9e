/**
 * The Go prototype's routes, kept so that its clients (the flagops plugin's data-store provider calls
 * `GET <base>/api/fact/<identity>` and decodes a map of strings) keep working. Identities resolve in the default
 * namespace and values render as strings. Unlike the prototype, deleting one fact deletes only that fact, and
 * errors have a body. As the prototype did, a JSON body is read whatever its Content-Type (its provider sends
 * none).
 */
import { z } from 'zod';
import { FactValue, factsAsText } from '../../api/facts.js';
import { notFound } from '../errors.js';
import { type PermissionSpec, route } from '../route.js';
import { FactValueBody, factKeyed, ID_PARAM, NAME_PARAM, SecretValueBody, WriteQuery } from '../validate.js';
import { secretValues } from './secrets.js';

const facts = (verb: 'get' | 'patch' | 'delete'): PermissionSpec => ({
  verb,
  resource: 'deploymentfacts',
  namespace: 'defaultNamespace',
  name: { param: 'id' },
});
const secrets = (verb: 'get' | 'update'): PermissionSpec => ({
  verb,
  resource: 'deploymentsecrets',
  subresource: 'values',
  namespace: 'defaultNamespace',
  name: { param: 'id' },
});
const id = { id: ID_PARAM };
const idAndName = { id: ID_PARAM, name: NAME_PARAM };
const tags = ['prototype'];
const Strings = z.record(z.string(), z.string());
const strings = (description: string) => ({ 200: { description, schema: Strings } });
const empty = (description: string) => ({ 200: { description, schema: z.object({}) } });

export const compatRoutes = [
  route({
    method: 'GET',
    path: '/api/identity',
    tags,
    summary: 'Prototype route: identities of the default namespace',
    permission: { verb: 'list', resource: 'deploymentfacts', namespace: 'defaultNamespace' },
    responses: {
      200: {
        description: 'identities and what they have',
        schema: z.object({
          identities: z.record(z.string(), z.object({ facts: z.boolean(), secrets: z.boolean() })),
        }),
      },
    },
    errors: [401, 403],
    handler: ({ deps }) => {
      const identities: Record<string, { facts: boolean; secrets: boolean }> = {};
      for (const i of deps.reader.list({ namespace: deps.defaultNamespace }).items)
        identities[i.name] = { facts: !!i.facts, secrets: !!i.secrets };
      return { identities };
    },
  }),
  // An identity without facts answers an empty map, as the prototype did, so that templating a new app works.
  route({
    method: 'GET',
    path: '/api/fact/:id',
    tags,
    summary: 'Prototype route: facts of an identity in the default namespace, values as strings',
    params: id,
    permission: facts('get'),
    cors: true,
    responses: strings('the facts as strings; `{}` for an identity without facts'),
    errors: [400, 401, 403],
    handler: ({ params, deps }) =>
      factsAsText(deps.reader.get(deps.defaultNamespace, params.id)?.facts?.values ?? {}),
  }),
  route({
    method: 'PUT',
    path: '/api/fact/:id',
    tags,
    summary: 'Prototype route: set several facts (a JSON body whatever its Content-Type)',
    params: id,
    query: WriteQuery,
    permission: facts('patch'),
    body: factKeyed(FactValue),
    bodyType: 'any',
    responses: strings('all facts after the write, as strings'),
    errors: [400, 401, 403, 404, 409, 413],
    handler: async ({ params, query, body, deps, user }) => {
      const result = await deps.writer.writeFacts(deps.defaultNamespace, params.id, {
        set: body,
        force: query.force,
        origin: `user:${user.username}`,
      });
      return factsAsText(result.facts);
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/fact/:id',
    tags,
    summary: "Prototype route: delete the identity's DeploymentFacts",
    params: id,
    permission: facts('delete'),
    responses: empty('deleted'),
    errors: [400, 401, 403, 404],
    handler: async ({ params, deps }) => {
      await deps.writer.deleteFacts(deps.defaultNamespace, params.id);
      return {};
    },
  }),
  route({
    method: 'GET',
    path: '/api/fact/:id/:name',
    tags,
    summary: 'Prototype route: one fact',
    params: idAndName,
    permission: facts('get'),
    cors: true,
    responses: strings('`{"<name>": "<value>"}`'),
    errors: [400, 401, 403, 404],
    handler: ({ params: { id, name }, deps }) => {
      const values = deps.reader.get(deps.defaultNamespace, id)?.facts?.values;
      if (!values || !Object.hasOwn(values, name)) throw notFound(`fact ${name} not found for ${id}`);
      return { [name]: String(values[name]) };
    },
  }),
  route({
    method: 'PUT',
    path: '/api/fact/:id/:name',
    tags,
    summary: 'Prototype route: set one fact (a JSON body whatever its Content-Type)',
    params: idAndName,
    query: WriteQuery,
    permission: facts('patch'),
    body: FactValueBody,
    bodyType: 'any',
    responses: strings('`{"<name>": "<value>"}`'),
    errors: [400, 401, 403, 409, 413],
    handler: async ({ params: { id, name }, query, body, deps, user }) => {
      await deps.writer.writeFacts(deps.defaultNamespace, id, {
        set: { [name]: body.value },
        force: query.force,
        origin: `user:${user.username}`,
      });
      return { [name]: String(body.value) };
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/fact/:id/:name',
    tags,
    summary: 'Prototype route: delete only this fact',
    params: idAndName,
    query: WriteQuery,
    permission: facts('patch'),
    responses: strings('the remaining facts as strings'),
    errors: [400, 401, 403, 404, 409],
    handler: async ({ params: { id, name }, query, deps, user }) => {
      const result = await deps.writer.writeFacts(deps.defaultNamespace, id, {
        remove: [name],
        force: query.force,
        origin: `user:${user.username}`,
      });
      return factsAsText(result.facts);
    },
  }),
  route({
    method: 'GET',
    path: '/api/secret/:id',
    tags,
    summary: 'Prototype route: secret values',
    params: id,
    permission: secrets('get'),
    responses: strings('the values; `{}` for an identity without secrets (Cache-Control: no-store)'),
    errors: [400, 401, 403],
    handler: ({ params, deps, reply }) => {
      reply.header('cache-control', 'no-store');
      return secretValues(deps.reader, deps.defaultNamespace, params.id) ?? {};
    },
  }),
  route({
    method: 'GET',
    path: '/api/secret/:id/:name',
    tags,
    summary: 'Prototype route: one secret value',
    params: idAndName,
    permission: secrets('get'),
    responses: strings('`{"<name>": "<value>"}` (Cache-Control: no-store)'),
    errors: [400, 401, 403, 404],
    handler: ({ params: { id, name }, deps, reply }) => {
      const values = secretValues(deps.reader, deps.defaultNamespace, id);
      if (!values || !Object.hasOwn(values, name)) throw notFound(`secret ${name} not found for ${id}`);
      reply.header('cache-control', 'no-store');
      return { [name]: values[name] };
    },
  }),
  route({
    method: 'PUT',
    path: '/api/secret/:id/:name',
    tags,
    summary: 'Prototype route: store a secret value (a JSON body whatever its Content-Type)',
    params: idAndName,
    query: WriteQuery,
    permission: secrets('update'),
    body: SecretValueBody,
    bodyType: 'any',
    responses: strings('`{"<name>": "stored"}`'),
    errors: [400, 401, 403, 409, 413],
    handler: async ({ params: { id, name }, query, body, deps, user }) => {
      await deps.writer.putSecret(deps.defaultNamespace, id, name, body.value, {
        force: query.force,
        origin: `user:${user.username}`,
      });
      return { [name]: 'stored' };
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/secret/:id/:name',
    tags,
    summary: 'Prototype route: remove a secret',
    params: idAndName,
    query: WriteQuery,
    permission: secrets('update'),
    responses: empty('removed'),
    errors: [400, 401, 403, 404, 409],
    handler: async ({ params: { id, name }, query, deps, user }) => {
      await deps.writer.removeSecret(deps.defaultNamespace, id, name, {
        force: query.force,
        origin: `user:${user.username}`,
      });
      return {};
    },
  }),
];
