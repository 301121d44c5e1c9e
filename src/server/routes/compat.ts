/**
 * The Go prototype's routes, kept so that its clients (the flagops plugin's data-store provider calls
 * `GET <base>/api/fact/<identity>` and decodes a map of strings) keep working. An identity is `<name>` in the
 * default namespace or, as Argo CD names an Application outside its own namespace (`ARGOCD_APP_NAME`),
 * `<namespace>_<name>`: permissions and the watched-namespace check are those of `/api/v1/namespaces/<ns>/…`.
 * Values render as strings. Unlike the prototype, deleting one fact deletes only that fact, and errors have a
 * body: `{"error": {…}}`, which the prototype's provider cannot decode as facts (so a failed read never renders
 * as an identity without facts), with the message also in the status line, which is what its writes report.
 * As the prototype did, a JSON body is read whatever its Content-Type (its provider sends none).
 */
import { z } from 'zod';
import { FactValue, factsAsText } from '../../api/facts.js';
import { JSON_UTF8, prototypeFacts } from '../../store/serialized.js';
import { WriteError } from '../../writes/errors.js';
import { conflict, notFound } from '../errors.js';
import { type PermissionSpec, route } from '../route-spec.js';
import {
  etagMatches,
  FactValueBody,
  factKeyed,
  NAME_PARAM,
  QUALIFIED_ID_PARAM,
  SecretValueBody,
  WriteQuery,
} from '../validate.js';
import { secretValues } from './secrets.js';

const facts = (verb: 'get' | 'patch' | 'delete'): PermissionSpec => ({
  verb,
  resource: 'deploymentfacts',
  namespace: { param: 'ns' },
  name: { param: 'id' },
});
const secrets = (verb: 'get' | 'update'): PermissionSpec => ({
  verb,
  resource: 'deploymentsecrets',
  subresource: 'values',
  namespace: { param: 'ns' },
  name: { param: 'id' },
});
const id = { id: QUALIFIED_ID_PARAM };
const idAndName = { id: QUALIFIED_ID_PARAM, name: NAME_PARAM };
const tags = ['prototype'];
/** The params the qualified `:id` provides. */
interface Ids {
  ns: string;
  id: string;
}

/** Says, on `GET /api/fact/{id}`, that the identity has no DeploymentFacts (the body is `{}`, as the prototype's). */
export const IDENTITY_HEADER = 'x-flagops-identity';

/** A facts read of an identity whose DeploymentFacts is not Ready: the prototype's clients cannot see status. */
function notReady(ns: string, id: string, reason: string | undefined) {
  return conflict(
    `identity ${ns}/${id} is not Ready (${reason ?? 'NotReady'}): its DeploymentFacts is invalid, so its facts are not served here; \`kubectl describe deploymentfacts ${id} -n ${ns}\` says why`,
  );
}

/**
 * A write refused because another field manager owns the fact (GitOps, kubectl apply, a fact source). The
 * prototype's provider cannot pass `?force=true`, and forcing would not help: the owner puts its value back.
 */
async function prototypeWrite<T>(ns: string, id: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (err instanceof WriteError && err.kind === 'Conflict' && err.owners && err.field) {
      throw conflict(
        `fact ${err.field} of ${ns}/${id} is managed by ${err.owners.join(', ')}, not by this API: change it where it is declared (git, for Argo CD or kubectl apply). A write through the API would be undone by the next sync; take it over only on purpose, with PUT /api/v1/namespaces/${ns}/identities/${id}/facts/${err.field}?force=true`,
        err.field,
      );
    }
    throw err;
  }
}
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
    errorFormat: 'prototype',
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
  // An identity without facts answers an empty map, as the prototype did, so that templating a new app works;
  // the header says so, for a client (the plugin's wrapper) that would rather fail the render.
  route({
    method: 'GET',
    path: '/api/fact/:id',
    tags,
    summary:
      'Prototype route: facts of an identity, values as strings; `<namespace>_<name>` names another namespace',
    params: id,
    permission: facts('get'),
    watchedNamespace: true,
    errorFormat: 'prototype',
    cors: true,
    docParameters: [
      {
        name: 'If-None-Match',
        in: 'header',
        schema: { type: 'string' },
        description: 'the ETag of an earlier answer: 304 while the facts are unchanged',
      },
    ],
    responses: {
      ...strings(
        `the facts as strings (ETag); \`{}\` for an identity without facts, with \`${IDENTITY_HEADER}: not-found\``,
      ),
      304: { description: 'not modified' },
    },
    errors: [400, 401, 403, 404, 409],
    handler: ({ params, deps, request, reply }) => {
      const { ns, id } = params as unknown as Ids;
      const identity = deps.reader.get(ns, id);
      if (identity?.facts && !identity.facts.ready) throw notReady(ns, id, identity.facts.reason);
      const served = prototypeFacts(deps.reader.epoch, identity, ns, id);
      reply.header('etag', served.etag);
      if (!identity?.facts) reply.header(IDENTITY_HEADER, 'not-found');
      if (etagMatches(request.headers['if-none-match'], served.etag)) return reply.code(304).send();
      return reply.type(JSON_UTF8).send(served.body);
    },
  }),
  route({
    method: 'PUT',
    path: '/api/fact/:id',
    tags,
    summary: 'Prototype route: set several facts (a JSON body whatever its Content-Type)',
    params: id,
    watchedNamespace: true,
    errorFormat: 'prototype',
    query: WriteQuery,
    permission: facts('patch'),
    body: factKeyed(FactValue),
    bodyType: 'any',
    responses: strings('all facts after the write, as strings'),
    errors: [400, 401, 403, 404, 409, 413],
    handler: async ({ params, query, body, deps, user }) => {
      const { ns, id } = params as unknown as Ids;
      const result = await prototypeWrite(ns, id, () =>
        deps.writer.writeFacts(ns, id, { set: body, force: query.force, origin: `user:${user.username}` }),
      );
      return factsAsText(result.facts);
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/fact/:id',
    tags,
    summary: "Prototype route: delete the identity's DeploymentFacts",
    params: id,
    watchedNamespace: true,
    errorFormat: 'prototype',
    permission: facts('delete'),
    responses: empty('deleted'),
    errors: [400, 401, 403, 404],
    handler: async ({ params, deps }) => {
      const { ns, id } = params as unknown as Ids;
      await deps.writer.deleteFacts(ns, id);
      return {};
    },
  }),
  route({
    method: 'GET',
    path: '/api/fact/:id/:name',
    tags,
    summary: 'Prototype route: one fact',
    params: idAndName,
    watchedNamespace: true,
    errorFormat: 'prototype',
    permission: facts('get'),
    cors: true,
    responses: strings('`{"<name>": "<value>"}`'),
    errors: [400, 401, 403, 404],
    handler: ({ params, deps }) => {
      const { ns, id, name } = params as unknown as Ids & { name: string };
      const entry = deps.reader.get(ns, id)?.facts;
      if (entry && !entry.ready) throw notReady(ns, id, entry.reason);
      const values = entry?.values;
      if (!values || !Object.hasOwn(values, name)) throw notFound(`fact ${name} not found for ${ns}/${id}`);
      return { [name]: String(values[name]) };
    },
  }),
  route({
    method: 'PUT',
    path: '/api/fact/:id/:name',
    tags,
    summary: 'Prototype route: set one fact (a JSON body whatever its Content-Type)',
    params: idAndName,
    watchedNamespace: true,
    errorFormat: 'prototype',
    query: WriteQuery,
    permission: facts('patch'),
    body: FactValueBody,
    bodyType: 'any',
    responses: strings('`{"<name>": "<value>"}`'),
    errors: [400, 401, 403, 409, 413],
    handler: async ({ params, query, body, deps, user }) => {
      const { ns, id, name } = params as unknown as Ids & { name: string };
      await prototypeWrite(ns, id, () =>
        deps.writer.writeFacts(ns, id, {
          set: { [name]: body.value },
          force: query.force,
          origin: `user:${user.username}`,
        }),
      );
      return { [name]: String(body.value) };
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/fact/:id/:name',
    tags,
    summary: 'Prototype route: delete only this fact',
    params: idAndName,
    watchedNamespace: true,
    errorFormat: 'prototype',
    query: WriteQuery,
    permission: facts('patch'),
    responses: strings('the remaining facts as strings'),
    errors: [400, 401, 403, 404, 409],
    handler: async ({ params, query, deps, user }) => {
      const { ns, id, name } = params as unknown as Ids & { name: string };
      const result = await prototypeWrite(ns, id, () =>
        deps.writer.writeFacts(ns, id, {
          remove: [name],
          force: query.force,
          origin: `user:${user.username}`,
        }),
      );
      return factsAsText(result.facts);
    },
  }),
  route({
    method: 'GET',
    path: '/api/secret/:id',
    tags,
    summary: 'Prototype route: secret values',
    params: id,
    watchedNamespace: true,
    errorFormat: 'prototype',
    permission: secrets('get'),
    responses: strings('the values; `{}` for an identity without secrets (Cache-Control: no-store)'),
    errors: [400, 401, 403],
    handler: ({ params, deps, reply }) => {
      reply.header('cache-control', 'no-store');
      const { ns, id } = params as unknown as Ids;
      return secretValues(deps.reader, ns, id) ?? {};
    },
  }),
  route({
    method: 'GET',
    path: '/api/secret/:id/:name',
    tags,
    summary: 'Prototype route: one secret value',
    params: idAndName,
    watchedNamespace: true,
    errorFormat: 'prototype',
    permission: secrets('get'),
    responses: strings('`{"<name>": "<value>"}` (Cache-Control: no-store)'),
    errors: [400, 401, 403, 404],
    handler: ({ params, deps, reply }) => {
      const { ns, id, name } = params as unknown as Ids & { name: string };
      const values = secretValues(deps.reader, ns, id);
      if (!values || !Object.hasOwn(values, name)) throw notFound(`secret ${name} not found for ${ns}/${id}`);
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
    watchedNamespace: true,
    errorFormat: 'prototype',
    query: WriteQuery,
    permission: secrets('update'),
    body: SecretValueBody,
    bodyType: 'any',
    responses: strings('`{"<name>": "stored"}`'),
    errors: [400, 401, 403, 409, 413],
    handler: async ({ params, query, body, deps, user }) => {
      const { ns, id, name } = params as unknown as Ids & { name: string };
      await deps.writer.putSecret(ns, id, name, body.value, {
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
    watchedNamespace: true,
    errorFormat: 'prototype',
    query: WriteQuery,
    permission: secrets('update'),
    responses: empty('removed'),
    errors: [400, 401, 403, 404, 409],
    handler: async ({ params, query, deps, user }) => {
      const { ns, id, name } = params as unknown as Ids & { name: string };
      await deps.writer.removeSecret(ns, id, name, {
        force: query.force,
        origin: `user:${user.username}`,
      });
      return {};
    },
  }),
];
