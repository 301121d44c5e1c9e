/**
 * The OpenAPI 3.1 document served at /openapi.json, generated from the route table: paths, methods, the
 * permission each route checks, parameters, request and response schemas. Schemas are the zod schemas that
 * validate requests (converted with zod's own JSON Schema output), so the document cannot drift from the
 * routes or their validation.
 */
import { z } from 'zod';
import { type AnyRoute, describePermissionSpec } from './route-spec.js';

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});
// OFREP's error bodies (open-feature/protocol service/openapi.yaml).
const OfrepFailure = z.object({
  key: z.string(),
  errorCode: z.enum(['PARSE_ERROR', 'TARGETING_KEY_MISSING', 'INVALID_CONTEXT', 'GENERAL']),
  errorDetails: z.string().optional(),
});
const OfrepNotFound = z.object({
  key: z.string(),
  errorCode: z.literal('FLAG_NOT_FOUND'),
  errorDetails: z.string().optional(),
});
const OfrepBulkFailure = z.object({ errorCode: z.string(), errorDetails: z.string().optional() });
const OfrepGeneral = z.object({ errorDetails: z.string().optional() });

const STATUS_TEXT: Record<number, string> = {
  400: 'invalid input; the message names the field',
  401: 'no or invalid bearer token',
  403: 'the caller lacks the named permission',
  404: 'not found',
  409: 'the fact is managed by another field manager (use ?force=true), or a concurrent change',
  412: 'If-Match did not match the current ETag (generation)',
  413: 'body too large',
  429: 'too many open streams; retry after Retry-After',
  500: 'a fault of the operator or its configuration',
  503: 'the Kubernetes API server is unavailable; retry after Retry-After',
};

function errorResponse(r: AnyRoute, status: number) {
  const format = r.errorFormat ?? 'api';
  let schema: z.ZodType = ErrorBody;
  let description = STATUS_TEXT[status] ?? 'error';
  if (format !== 'api' && status !== 401 && status !== 403) {
    if (status === 404) [schema, description] = [OfrepNotFound, 'FLAG_NOT_FOUND'];
    else if (status === 500)
      [schema, description] = [
        OfrepGeneral,
        'the API server is unavailable (Retry-After) or an operator fault',
      ];
    else if (format === 'ofrep-single')
      [schema, description] = [OfrepFailure, 'PARSE_ERROR, TARGETING_KEY_MISSING or INVALID_CONTEXT'];
    else [schema, description] = [OfrepBulkFailure, 'PARSE_ERROR, TARGETING_KEY_MISSING or INVALID_CONTEXT'];
  }
  return { description, content: { 'application/json': { schema: json(schema) } } };
}

function operation(r: AnyRoute) {
  const parameters: object[] = [];
  for (const [name, spec] of Object.entries(r.params ?? {}) as [
    string,
    NonNullable<AnyRoute['params']>[string],
  ][])
    parameters.push({
      name,
      in: 'path',
      required: true,
      description: spec.description,
      schema: json(spec.schema),
    });
  if (r.query instanceof z.ZodObject) {
    for (const [name, s] of Object.entries(r.query.shape as Record<string, z.ZodType>))
      parameters.push({ name, in: 'query', required: !s.safeParse(undefined).success, schema: json(s) });
  }
  parameters.push(...(r.docParameters ?? []));

  const permission = r.permission
    ? describePermissionSpec(r.permission)
    : r.bodyPermission
      ? r.bodyPermission.describe
      : r.authorizeInHandler;
  const responses: Record<string, object> = {};
  for (const [status, doc] of Object.entries(r.responses)) {
    responses[status] = {
      description: doc.description,
      ...(doc.schema || doc.contentType
        ? {
            content: {
              [doc.contentType ?? 'application/json']: doc.schema ? { schema: json(doc.schema) } : {},
            },
          }
        : {}),
    };
  }
  const statuses = [...r.errors];
  if (!r.public && !statuses.includes(401)) statuses.push(401, 403);
  if (!r.public && !statuses.includes(500) && !statuses.includes(503))
    statuses.push(r.errorFormat ? 500 : 503);
  for (const status of statuses) responses[String(status)] ??= errorResponse(r, status);

  const body = r.body ?? r.docBody;
  return {
    tags: [...r.tags],
    summary: permission ? `${r.summary} (needs ${permission})` : r.summary,
    ...(r.public ? { security: [] } : {}),
    ...(r.cors ? { 'x-cors': true } : {}),
    ...(permission ? { 'x-permission': permission } : {}),
    ...(parameters.length ? { parameters } : {}),
    ...(body
      ? { requestBody: { required: true, content: { 'application/json': { schema: json(body) } } } }
      : {}),
    responses,
  };
}

export function openApiDocument(routes: readonly AnyRoute[]) {
  const paths: Record<string, Record<string, object>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = operation(r);
  }
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
        apiKey: {
          type: 'apiKey',
          in: 'header',
          name: 'X-API-Key',
          description: 'the same token, as OFREP clients send it',
        },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
    paths,
  };
}
