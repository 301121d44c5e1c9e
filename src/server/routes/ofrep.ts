/**
 * OFREP (OpenFeature Remote Evaluation Protocol): any OpenFeature SDK's OFREP provider reads facts as flags. The
 * flag key is a fact name, `targetingKey` the identity (`<name>`, or Argo CD's `<namespace>_<name>`), and the
 * context attribute `namespace` (else the default namespace) its namespace. Values keep their type; the reason is STATIC. Secrets are never served here.
 *
 * To the letter of open-feature/protocol's `service/openapi.yaml`: these routes answer only the statuses it
 * defines (200, 304 for bulk, 400, 401, 403, 404 for single, 500), with its bodies. A single evaluation's 400 and
 * 404 carry the flag `key`; a client's mistake of any kind (a body that is not JSON, too large, in an
 * unsupported encoding) is a 400 `PARSE_ERROR`; any failure of ours or of the API server is a 500 with
 * `errorDetails` (and `Retry-After` when retrying can help). 401 and 403, which OFREP gives no body, keep the
 * API's error body.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FactName, FactValue } from '../../api/facts.js';
import { profileOfFacts } from '../../store/serialized.js';
import { type FactsEntry, reached } from '../../store/store.js';
import { errorBody, type HttpError } from '../errors.js';
import { type ErrorFormat, route } from '../route-spec.js';
import { NamespaceName, parseQualifiedIdentity, QualifiedIdentityName } from '../validate.js';
import { EventStreamDoc, eventStreamsFor, parseFlagConfigEtag } from './ofrep-streams.js';

type OfrepErrorCode =
  | 'PARSE_ERROR'
  | 'TARGETING_KEY_MISSING'
  | 'INVALID_CONTEXT'
  | 'GENERAL'
  | 'FLAG_NOT_FOUND';

export class OfrepError extends Error {
  constructor(
    readonly status: 400 | 404,
    readonly errorCode: OfrepErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Target {
  namespace: string;
  name: string;
}

function targetOf(body: unknown, defaultNamespace: string): Target {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new OfrepError(400, 'PARSE_ERROR', 'the body must be a JSON object with a "context" object');
  }
  const context = (body as { context?: unknown }).context;
  if (context === undefined || context === null || typeof context !== 'object' || Array.isArray(context)) {
    throw new OfrepError(400, 'PARSE_ERROR', 'the body must have a "context" object');
  }
  const { targetingKey, namespace } = context as { targetingKey?: unknown; namespace?: unknown };
  if (targetingKey === undefined || targetingKey === '') {
    throw new OfrepError(400, 'TARGETING_KEY_MISSING', 'context.targetingKey (the identity) is required');
  }
  const key = parseQualifiedIdentity(targetingKey);
  if (!key.ok) {
    throw new OfrepError(400, 'INVALID_CONTEXT', `context.targetingKey ${key.message}`);
  }
  if (namespace !== undefined && !NamespaceName.safeParse(namespace).success) {
    throw new OfrepError(400, 'INVALID_CONTEXT', 'context.namespace must be a namespace name');
  }
  // Argo CD's `<namespace>_<name>` names the namespace itself; a context.namespace saying otherwise is refused
  // rather than silently preferring either.
  if (key.value.namespace !== undefined && namespace !== undefined && namespace !== key.value.namespace) {
    throw new OfrepError(
      400,
      'INVALID_CONTEXT',
      `context.targetingKey names namespace ${key.value.namespace}, context.namespace ${namespace as string}`,
    );
  }
  const ns = key.value.namespace ?? (namespace as string | undefined) ?? defaultNamespace;
  return { namespace: ns, name: key.value.name };
}

/** Status, extra headers and body of an OFREP route's error, per the spec. */
export function ofrepError(
  err: OfrepError | HttpError,
  format: Exclude<ErrorFormat, 'api'>,
  key: string | undefined,
): { status: number; headers: Record<string, string>; body: unknown } {
  const withKey = format === 'ofrep-single' && key !== undefined ? { key } : {};
  if (err instanceof OfrepError)
    return {
      status: err.status,
      headers: {},
      body: { ...withKey, errorCode: err.errorCode, errorDetails: err.message },
    };
  if (err.status === 401 || err.status === 403)
    return { status: err.status, headers: err.headers, body: errorBody(err) };
  if (err.status >= 500) return { status: 500, headers: err.headers, body: { errorDetails: err.message } };
  // The context names a namespace this operator does not serve: the evaluation context's mistake, said as such
  // (a FLAG_NOT_FOUND or an empty bulk answer would have the client evaluate defaults silently).
  if (err.status === 404)
    return {
      status: 400,
      headers: err.headers,
      body: { ...withKey, errorCode: 'INVALID_CONTEXT', errorDetails: err.message },
    };
  // Any other client mistake (a body that is not JSON, too large, badly encoded) is the request's: PARSE_ERROR.
  return {
    status: 400,
    headers: err.headers,
    body: { ...withKey, errorCode: 'PARSE_ERROR', errorDetails: err.message },
  };
}

const OfrepRequest = z.object({
  context: z
    .object({
      targetingKey: QualifiedIdentityName.describe(
        'the identity: `<name>`, or `<namespace>_<name>` as Argo CD names an Application outside its namespace',
      ),
      namespace: NamespaceName.optional(),
    })
    .catchall(z.unknown()),
});
const OfrepSuccess = z.object({
  key: z.string(),
  reason: z.literal('STATIC'),
  variant: z.string(),
  value: FactValue,
  metadata: z.record(z.string(), z.unknown()),
});
const permission = {
  describe:
    'get deploymentfacts {context.targetingKey} in {context.namespace} (default: the default namespace)',
  of: (t: Target) =>
    ({ verb: 'get', resource: 'deploymentfacts', namespace: t.namespace, name: t.name }) as const,
};
const parseBody = (json: unknown, deps: { defaultNamespace: string }) =>
  targetOf(json, deps.defaultNamespace);
const tags = ['ofrep'];
const EMPTY = Object.freeze({});
/** A flag's metadata: the profile that supplies its value (`layer`), when it is not the identity's own. */
function flagMetadata(entry: FactsEntry, key: string): Readonly<Record<string, string>> {
  const layer = profileOfFacts(entry)[key];
  return layer === undefined ? EMPTY : { layer };
}
/** How long a refetch that names a newer resourceVersion (`flagConfigEtag`) waits for this replica to catch up. */
export const FLAG_CONFIG_WAIT_MS = 2_000;

/** ADR-0008's refetch metadata, from a `refetchEvaluation` event: accepted on the bulk evaluation, never refused. */
const BulkQuery = z.object({
  flagConfigEtag: z
    .string()
    .max(256)
    .optional()
    .describe(
      "the event's `etag`: the DeploymentFacts' resourceVersion; this replica waits (up to 2 s) until its facts are at least that recent",
    ),
  flagConfigLastModified: z.string().max(64).optional().describe('accepted and ignored (events carry none)'),
});

export const ofrepRoutes = [
  route({
    method: 'POST',
    path: '/ofrep/v1/evaluate/flags/:key',
    tags,
    summary: 'OFREP single evaluation: the fact `key` of identity `context.targetingKey`',
    params: { key: { schema: z.string(), field: 'key', description: 'a fact name' } },
    body: OfrepRequest as unknown as z.ZodType<Target>,
    parseBody,
    bodyPermission: permission,
    watchedNamespace: true,
    errorFormat: 'ofrep-single',
    cors: true,
    responses: { 200: { description: 'the evaluation', schema: OfrepSuccess } },
    errors: [400, 401, 403, 404, 500],
    handler: ({ params: { key }, body: { namespace, name }, deps }) => {
      const entry = deps.reader.get(namespace, name)?.facts;
      const facts = entry?.values;
      if (!facts || !Object.hasOwn(facts, key) || !FactName.safeParse(key).success) {
        throw new OfrepError(404, 'FLAG_NOT_FOUND', `no fact ${key} for identity ${namespace}/${name}`);
      }
      const value = facts[key]!;
      return { key, reason: 'STATIC', variant: String(value), value, metadata: flagMetadata(entry, key) };
    },
  }),
  route({
    method: 'POST',
    path: '/ofrep/v1/evaluate/flags',
    tags,
    summary:
      'OFREP bulk evaluation: every fact of the identity; ETag / If-None-Match give 304; an event stream to follow it',
    body: OfrepRequest as unknown as z.ZodType<Target>,
    parseBody,
    bodyPermission: permission,
    watchedNamespace: true,
    errorFormat: 'ofrep-bulk',
    cors: true,
    query: BulkQuery,
    docParameters: [
      {
        name: 'If-None-Match',
        in: 'header',
        schema: { type: 'string' },
        description: 'an ETag of an earlier answer: 304 while it still holds',
      },
    ],
    responses: {
      200: {
        description:
          'every fact of the identity (none: an empty list); `eventStreams` (ADR-0008) when the caller may watch it',
        schema: z.object({
          flags: z.array(OfrepSuccess),
          eventStreams: z.array(EventStreamDoc).optional(),
          metadata: z.record(z.string(), z.unknown()),
        }),
      },
      304: { description: 'not modified' },
    },
    errors: [400, 401, 403, 500],
    handler: async ({ body: { namespace, name }, query, deps, user, request, reply }) => {
      // A refetch an event on another replica asked for: first let this replica's facts catch up with it.
      const rv = parseFlagConfigEtag(query.flagConfigEtag);
      if (rv !== undefined)
        await deps.reader.until(
          namespace,
          name,
          (i) => reached(i?.facts?.resourceVersion, rv),
          FLAG_CONFIG_WAIT_MS,
        );
      const eventStreams = await eventStreamsFor(deps, user, namespace, name);
      const identity = deps.reader.get(namespace, name);
      // The ETag moves with every change of what this answer serves: the identity's store revision, which the
      // store moves with every change of its served facts, whatever changed them (a new generation, an object
      // deleted and created again at generation 1 with other facts; bookkeeping such as status, labels or a new
      // resourceVersion with the same facts leaves it) — and the event-stream URL, which changes with its window.
      const etag = `"${createHash('sha256')
        .update(`${deps.reader.epoch}/${namespace}/${name}@${identity?.revision ?? 0}`)
        .update(eventStreams ? `/${eventStreams[0]!.endpoint.requestUri}` : '')
        .digest('hex')
        .slice(0, 20)}"`;
      reply.header('etag', etag);
      const inm = request.headers['if-none-match'];
      if (inm?.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
        return reply.code(304).send();
      }
      const entry = identity?.facts;
      const facts = entry?.values ?? {};
      return {
        flags: Object.entries(facts).map(([key, value]) => ({
          key,
          reason: 'STATIC',
          variant: String(value),
          value,
          metadata: entry ? flagMetadata(entry, key) : EMPTY,
        })),
        ...(eventStreams ? { eventStreams } : {}),
        metadata: EMPTY,
      };
    },
  }),
];
