/**
 * The OpenAPI 3.1 document served at /openapi.json. Request schemas are the zod schemas that validate requests
 * (converted with zod's own JSON Schema output), so the document cannot drift from the validation.
 */
import { z } from 'zod';
import { FactMap, FactName, FactValue } from '../api/facts.js';
import { GetParamsBody } from './routes/appset.js';
import { ListQuery } from './routes/identities.js';
import { WatchQuery } from './routes/watch.js';
import { FactsPatchBody, FactValueBody, IdentityName, NamespaceName, SecretValueBody } from './validate.js';
import { WebhookBody } from './webhooks/body.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});
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
const OfrepRequest = z.object({
  context: z
    .object({ targetingKey: IdentityName, namespace: NamespaceName.optional() })
    .catchall(z.unknown()),
});
const OfrepSuccess = z.object({
  key: z.string(),
  reason: z.literal('STATIC'),
  variant: z.string(),
  value: FactValue,
  metadata: z.record(z.string(), z.unknown()),
});
const OfrepFailure = z.object({
  key: z.string().optional(),
  errorCode: z.string(),
  errorDetails: z.string(),
});
const ChangeEvent = z.object({
  revision: z.number().int(),
  kind: z.enum(['facts', 'secrets']),
  action: z.enum(['upsert', 'delete']),
  namespace: z.string(),
  name: z.string(),
  keys: z.array(z.string()),
});

const errors = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description: STATUS_TEXT[c] ?? 'error',
        content: { 'application/json': { schema: json(ErrorBody) } },
      },
    ]),
  );
const STATUS_TEXT: Record<number, string> = {
  400: 'invalid input; the message names the field',
  401: 'no or invalid bearer token',
  403: 'the caller lacks the named permission',
  404: 'not found',
  409: 'the fact is managed by another field manager (use ?force=true), or a concurrent change',
  412: 'If-Match did not match the current ETag (generation)',
  413: 'body too large',
  503: 'the Kubernetes API server is unavailable; retry after Retry-After',
};
const ok = (schema: z.ZodType, description = 'OK') => ({
  '200': { description, content: { 'application/json': { schema: json(schema) } } },
});
const body = (schema: z.ZodType) => ({
  required: true,
  content: { 'application/json': { schema: json(schema) } },
});
const pathParam = (name: string, schema: z.ZodType, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: json(schema),
});
const idParams = [
  pathParam('ns', NamespaceName, 'namespace'),
  pathParam('id', IdentityName, 'identity: the name of the DeploymentFacts / DeploymentSecrets'),
];
const nameParam = pathParam('name', FactName, 'fact or secret name');
const force = {
  name: 'force',
  in: 'query',
  schema: { type: 'boolean' },
  description: 'take over a key owned by another field manager',
};
const ifMatch = {
  name: 'If-Match',
  in: 'header',
  schema: { type: 'string' },
  description: "the ETag of a facts read (the object's generation) that must still hold",
};
const queryParams = (schema: z.ZodObject) =>
  Object.entries(schema.shape).map(([name, s]) => ({
    name,
    in: 'query',
    required: false,
    schema: json(s as z.ZodType),
  }));

export function openApiDocument() {
  const facts = ['facts'];
  const secrets = ['secrets'];
  return {
    openapi: '3.1.0',
    info: {
      title: 'flagops-data-store',
      version: '0.1.0',
      description:
        'Facts and secrets of deployment identities, kept as Kubernetes custom resources. Authenticate with a Kubernetes bearer token; the cluster RBAC authorises each call.',
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'a Kubernetes ServiceAccount token' },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      '/api/v1/identities': {
        get: {
          tags: ['identities'],
          summary: 'List identities (needs list deploymentfacts)',
          parameters: queryParams(ListQuery),
          responses: {
            ...ok(z.object({ items: z.array(IdentitySummary), continue: z.string().optional() })),
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/namespaces/{ns}/identities/{id}': {
        parameters: idParams,
        get: {
          tags: ['identities'],
          summary: 'One identity: facts, secret key names, status',
          responses: { ...ok(IdentityDetail), ...errors(400, 401, 403, 404) },
        },
        delete: {
          tags: ['identities'],
          summary: 'Delete the DeploymentFacts, the DeploymentSecrets and the managed Secret',
          responses: {
            ...ok(z.object({ namespace: z.string(), name: z.string(), deleted: z.boolean() })),
            ...errors(400, 401, 403, 404, 503),
          },
        },
      },
      '/api/v1/namespaces/{ns}/identities/{id}/facts': {
        parameters: idParams,
        get: {
          tags: facts,
          summary: 'All facts as a flat map; ETag is the generation (it moves only when facts change)',
          responses: { ...ok(FactMap), ...errors(400, 401, 403, 404) },
        },
        patch: {
          tags: facts,
          summary:
            'Set several facts; a null value removes that fact (server-side apply as flagops-data-store-api)',
          parameters: [force, ifMatch],
          requestBody: body(FactsPatchBody),
          responses: { ...ok(FactMap), ...errors(400, 401, 403, 409, 412, 413, 503) },
        },
      },
      '/api/v1/namespaces/{ns}/identities/{id}/facts/{name}': {
        parameters: [...idParams, nameParam],
        get: {
          tags: facts,
          summary: 'One fact',
          responses: { ...ok(FactMap), ...errors(400, 401, 403, 404) },
        },
        put: {
          tags: facts,
          summary: 'Set one fact, creating the DeploymentFacts if needed',
          parameters: [force, ifMatch],
          requestBody: body(FactValueBody),
          responses: { ...ok(FactMap), ...errors(400, 401, 403, 409, 412, 413, 503) },
        },
        delete: {
          tags: facts,
          summary: 'Remove one fact',
          parameters: [force, ifMatch],
          responses: { ...ok(FactMap), ...errors(400, 401, 403, 404, 409, 412, 503) },
        },
      },
      '/api/v1/namespaces/{ns}/identities/{id}/secrets': {
        parameters: idParams,
        get: {
          tags: secrets,
          summary: 'Resolved secret values (needs get deploymentsecrets/values)',
          responses: { ...ok(z.record(z.string(), z.string())), ...errors(400, 401, 403, 404) },
        },
      },
      '/api/v1/namespaces/{ns}/identities/{id}/secrets/{name}': {
        parameters: [...idParams, nameParam],
        get: {
          tags: secrets,
          summary: 'One secret value',
          responses: { ...ok(z.record(z.string(), z.string())), ...errors(400, 401, 403, 404) },
        },
        put: {
          tags: secrets,
          summary:
            'Store a value in the operator-managed Secret and reference it (needs update deploymentsecrets/values)',
          parameters: [force],
          requestBody: body(SecretValueBody),
          responses: {
            ...ok(z.object({ name: z.string(), stored: z.boolean() })),
            ...errors(400, 401, 403, 409, 413, 503),
          },
        },
        delete: {
          tags: secrets,
          summary: 'Remove one secret',
          parameters: [force],
          responses: {
            ...ok(z.object({ name: z.string(), deleted: z.boolean() })),
            ...errors(400, 401, 403, 404, 409, 503),
          },
        },
      },
      '/api/v1/watch': {
        get: {
          tags: ['changes'],
          summary: 'Server-Sent Events, one per identity change (key names only); resume with Last-Event-ID',
          parameters: queryParams(WatchQuery),
          responses: {
            '200': {
              description:
                'event stream; `event: change` carries the JSON below, `event: reset` means re-read everything',
              content: { 'text/event-stream': { schema: json(ChangeEvent) } },
            },
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/getparams.execute': {
        post: {
          tags: ['argocd'],
          summary:
            'Argo CD ApplicationSet plugin generator: one parameter set per identity of a namespace (needs list deploymentfacts)',
          requestBody: body(GetParamsBody),
          responses: {
            ...ok(
              z.object({
                output: z.object({
                  parameters: z.array(
                    z.object({ identity: z.string(), namespace: z.string(), facts: FactMap }),
                  ),
                }),
              }),
            ),
            ...errors(400, 401, 403),
          },
        },
      },
      '/api/v1/webhooks/{name}': {
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }],
        post: {
          tags: ['webhooks'],
          summary: 'Signed fact updates from systems without a Kubernetes token',
          security: [],
          parameters: [
            {
              name: 'X-Flagops-Timestamp',
              in: 'header',
              required: true,
              schema: { type: 'string' },
              description: 'Unix seconds; must be within 5 minutes',
            },
            {
              name: 'X-Flagops-Signature',
              in: 'header',
              required: true,
              schema: { type: 'string' },
              description: 'sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">',
            },
          ],
          requestBody: body(WebhookBody),
          responses: { ...ok(FactMap), ...errors(400, 401, 403, 404, 409, 413, 503) },
        },
      },
      '/ofrep/v1/evaluate/flags/{key}': {
        parameters: [
          { name: 'key', in: 'path', required: true, schema: { type: 'string' }, description: 'a fact name' },
        ],
        post: {
          tags: ['ofrep'],
          summary: 'OFREP single evaluation: the fact `key` of identity `context.targetingKey`',
          requestBody: body(OfrepRequest),
          responses: {
            ...ok(OfrepSuccess),
            '400': {
              description: 'PARSE_ERROR, TARGETING_KEY_MISSING or INVALID_CONTEXT',
              content: { 'application/json': { schema: json(OfrepFailure) } },
            },
            '404': {
              description: 'FLAG_NOT_FOUND',
              content: { 'application/json': { schema: json(OfrepFailure) } },
            },
            ...errors(401, 403),
          },
        },
      },
      '/ofrep/v1/evaluate/flags': {
        post: {
          tags: ['ofrep'],
          summary: 'OFREP bulk evaluation: every fact of the identity; ETag / If-None-Match give 304',
          requestBody: body(OfrepRequest),
          responses: {
            ...ok(z.object({ flags: z.array(OfrepSuccess), metadata: z.record(z.string(), z.unknown()) })),
            '304': { description: 'not modified' },
            '400': {
              description: 'PARSE_ERROR, TARGETING_KEY_MISSING or INVALID_CONTEXT',
              content: { 'application/json': { schema: json(OfrepFailure) } },
            },
            ...errors(401, 403),
          },
        },
      },
      '/api/fact/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: json(IdentityName) }],
        get: {
          tags: ['prototype'],
          summary: 'Prototype route: facts of an identity in the default namespace, values as strings',
          responses: ok(z.record(z.string(), z.string())),
        },
        put: {
          tags: ['prototype'],
          summary: 'Prototype route: set several facts',
          requestBody: body(z.record(z.string(), FactValue)),
          responses: ok(z.record(z.string(), z.string())),
        },
        delete: {
          tags: ['prototype'],
          summary: "Prototype route: delete the identity's DeploymentFacts",
          responses: ok(z.object({})),
        },
      },
      '/api/fact/{id}/{name}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: json(IdentityName) }, nameParam],
        get: {
          tags: ['prototype'],
          summary: 'Prototype route: one fact',
          responses: ok(z.record(z.string(), z.string())),
        },
        put: {
          tags: ['prototype'],
          summary: 'Prototype route: set one fact',
          requestBody: body(FactValueBody),
          responses: ok(z.record(z.string(), z.string())),
        },
        delete: {
          tags: ['prototype'],
          summary: 'Prototype route: delete only this fact',
          responses: ok(z.record(z.string(), z.string())),
        },
      },
      '/api/secret/{id}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: json(IdentityName) }],
        get: {
          tags: ['prototype'],
          summary: 'Prototype route: secret values',
          responses: ok(z.record(z.string(), z.string())),
        },
      },
      '/api/secret/{id}/{name}': {
        parameters: [{ name: 'id', in: 'path', required: true, schema: json(IdentityName) }, nameParam],
        get: {
          tags: ['prototype'],
          summary: 'Prototype route: one secret value',
          responses: ok(z.record(z.string(), z.string())),
        },
        put: {
          tags: ['prototype'],
          summary: 'Prototype route: store a secret value',
          requestBody: body(SecretValueBody),
          responses: ok(z.record(z.string(), z.string())),
        },
        delete: {
          tags: ['prototype'],
          summary: 'Prototype route: remove a secret',
          responses: ok(z.object({})),
        },
      },
      '/api/identity': {
        get: {
          tags: ['prototype'],
          summary: 'Prototype route: identities of the default namespace',
          responses: ok(
            z.object({
              identities: z.record(z.string(), z.object({ facts: z.boolean(), secrets: z.boolean() })),
            }),
          ),
        },
      },
      '/healthz': {
        get: {
          tags: ['operations'],
          security: [],
          summary: 'The process is alive',
          responses: { '200': { description: 'alive' } },
        },
      },
      '/readyz': {
        get: {
          tags: ['operations'],
          security: [],
          summary: 'Every informer has synced',
          responses: { '200': { description: 'ready' }, '503': { description: 'not synced yet' } },
        },
      },
      '/metrics': {
        get: {
          tags: ['operations'],
          security: [],
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'text exposition format' } },
        },
      },
    },
  };
}
