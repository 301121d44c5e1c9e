/**
 * Fact history: an identity's FactRevisions, and its facts as of a revision or a time. These reads go to the API
 * server (history is not cached in the operator: docs/architecture.md#fact-history), authorised as reads of the
 * identity's facts.
 */
import { z } from 'zod';
import type { FactRevision } from '../../api/fact-revision.js';
import type { FactMap } from '../../api/facts.js';
import { type FactRevisions, HistoryUnavailable } from '../../controller/fact-history/revisions.js';
import { KubeApiError } from '../../kube/errors.js';
import { reached } from '../../store/store.js';
import { WriteError } from '../../writes/errors.js';
import { badRequest, notFound, unavailable } from '../errors.js';
import { type RouteContext, route } from '../route-spec.js';
import { ID_PARAM, IF_MATCH_HEADER, NS_PARAM, parseIfMatch, WriteQuery } from '../validate.js';

/** The response header naming the FactRevision whose facts a historical read served. */
export const REVISION_HEADER = 'x-flagops-fact-revision';

const ids = { ns: NS_PARAM, id: ID_PARAM };
const get = {
  verb: 'get',
  resource: 'deploymentfacts',
  namespace: { param: 'ns' },
  name: { param: 'id' },
} as const;

export const RollbackBody = z.object({
  revision: z
    .number({ error: 'must be a whole number of at least 1' })
    .int('must be a whole number of at least 1')
    .min(1, 'must be a whole number of at least 1')
    .describe('the FactRevision whose facts to write back'),
});

export const HistoryQuery = z.object({
  limit: z.coerce
    .number({ error: 'must be a whole number from 1 to 100' })
    .int('must be a whole number from 1 to 100')
    .min(1, 'must be a whole number from 1 to 100')
    .max(100, 'must be a whole number from 1 to 100')
    .optional()
    .describe('revisions per page (default 10)'),
  continue: z.string().max(4096).optional().describe('the `continue` of the previous page'),
});

/** `?revision=N` or `?asOf=<RFC 3339>` on the facts read. */
export const FactsAsOfQuery = z.object({
  revision: z.coerce
    .number({ error: 'must be a whole number of at least 1' })
    .int('must be a whole number of at least 1')
    .min(1, 'must be a whole number of at least 1')
    .optional()
    .describe('serve the facts of this FactRevision'),
  asOf: z
    .string()
    .refine((s) => z.iso.datetime({ offset: true }).safeParse(s).success, 'must be an RFC 3339 time')
    .optional()
    .describe('serve the facts of the last FactRevision recorded at or before this RFC 3339 time'),
});
export type FactsAsOfQuery = z.output<typeof FactsAsOfQuery>;

const Revision = z.object({
  revision: z.number(),
  recordedAt: z.string(),
  facts: z.record(z.string(), z.unknown()),
  diff: z.object({
    added: z.record(z.string(), z.unknown()),
    changed: z.record(z.string(), z.object({ from: z.unknown().optional(), to: z.unknown() })),
    removed: z.record(z.string(), z.unknown()),
    previousOmitted: z.boolean().optional(),
  }),
  writers: z.array(
    z.object({
      manager: z.string(),
      path: z.string(),
      by: z.string(),
      at: z.string().optional(),
      facts: z.array(z.string()),
    }),
  ),
  resourceVersion: z.string(),
  generation: z.number(),
  secrets: z
    .object({ names: z.array(z.string()), resourceVersion: z.string() })
    .optional()
    .describe(
      "the identity's secret key names and the DeploymentSecrets' resourceVersion then; never a value",
    ),
});
const HistoryPage = z.object({ items: z.array(Revision), continue: z.string().optional() });

/** A revision as the API shows it: the diff with old → new values. */
export function revisionView(r: FactRevision) {
  const { facts, diff } = r.spec;
  const prev: FactMap = diff.previous ?? {};
  const pick = (names: readonly string[], from: FactMap) =>
    Object.fromEntries(names.filter((n) => Object.hasOwn(from, n)).map((n) => [n, from[n]]));
  return {
    revision: r.spec.revision,
    recordedAt: r.spec.recordedAt,
    facts,
    diff: {
      added: pick(diff.added, facts),
      changed: Object.fromEntries(
        diff.changed.map((n) => [
          n,
          Object.hasOwn(prev, n) ? { from: prev[n], to: facts[n] } : { to: facts[n] },
        ]),
      ),
      removed: Object.fromEntries(diff.removed.map((n) => [n, Object.hasOwn(prev, n) ? prev[n] : null])),
      ...(diff.previousOmitted ? { previousOmitted: true } : {}),
    },
    writers: r.spec.writers,
    resourceVersion: r.spec.resourceVersion,
    generation: r.spec.generation,
    ...(r.spec.secrets ? { secrets: r.spec.secrets } : {}),
  };
}

/** How long a rollback waits for this replica's store to reach the object it read (then 503, try again). */
const ROLLBACK_CATCH_UP_MS = 5_000;

/** The history is read from the API server: a missing CRD is said as such, not as a missing identity. */
async function orUnavailable<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    if (err instanceof HistoryUnavailable) throw notFound(`fact history is not available: ${err.message}`);
    // An expired `continue` (the API server's 410): the client's to start again, not an outage to retry.
    if (err instanceof KubeApiError && err.statusCode === 410)
      throw badRequest('this page token has expired; list the history again from the start', 'continue');
    throw err;
  }
}

function historyOf(ctx: { deps: { history?: FactRevisions } }): FactRevisions {
  if (!ctx.deps.history) throw notFound('fact history is not available on this server');
  return ctx.deps.history;
}

/**
 * What writing `target` back changes: the facts whose served value differs (set as the identity's own), and the own
 * facts it does not hold (removed). Facts a profile still serves with the same value are left alone.
 */
export function rollbackChange(
  target: Readonly<FactMap>,
  served: Readonly<FactMap>,
  own: Readonly<FactMap>,
): { set: FactMap; remove: string[] } {
  const set: FactMap = {};
  for (const [k, v] of Object.entries(target)) if (!Object.hasOwn(served, k) || served[k] !== v) set[k] = v;
  const remove = Object.keys(own).filter((k) => !Object.hasOwn(target, k));
  return { set, remove };
}

async function uidOf(history: FactRevisions, ns: string, id: string): Promise<string> {
  const uid = (await history.identity(ns, id))?.metadata.uid;
  if (!uid) throw notFound(`identity ${ns}/${id} has no facts`);
  return uid;
}

/**
 * The facts of `?revision` or `?asOf`, with the revision in the response header; the facts route hands these
 * reads over here. A revision no longer kept is a 404 that says so.
 */
export async function historicalFacts(
  ctx: RouteContext<{ ns: string; id: string }, FactsAsOfQuery, unknown>,
): Promise<FactMap> {
  const { ns, id } = ctx.params;
  const { revision, asOf } = ctx.query;
  if (revision !== undefined && asOf !== undefined)
    throw badRequest('give revision or asOf, not both', 'query.asOf');
  const history = historyOf(ctx);
  const uid = await uidOf(history, ns, id);
  let found: FactRevision | undefined;
  if (revision !== undefined) {
    found = await history.get(ns, id, uid, revision);
    // A 404 on one object may also be a CRD that is not served: the list says which.
    if (!found) await orUnavailable(history.refsOf(ns, uid));
    if (!found) throw notFound(`revision ${revision} of ${ns}/${id} is not kept (see its history)`);
  } else {
    const at = Date.parse(asOf!);
    // One identity keeps at most MAX_REVISION_HISTORY_LIMIT revisions: its metadata is one short list.
    const refs = await orUnavailable(history.refsOf(ns, uid));
    const candidates: number[] = refs.map((r) => r.revision).reverse();
    for (const n of candidates) {
      const r = await history.get(ns, id, uid, n);
      if (r && Date.parse(r.spec.recordedAt) <= at) {
        found = r;
        break;
      }
    }
    if (!found) throw notFound(`no kept revision of ${ns}/${id} was recorded at or before ${asOf}`);
  }
  ctx.reply.header(REVISION_HEADER, String(found.spec.revision));
  return found.spec.facts;
}

export const historyRoutes = [
  route({
    method: 'POST',
    path: '/api/v1/namespaces/:ns/identities/:id/rollback',
    tags: ['facts'],
    summary:
      "Write a FactRevision's facts back through the one writer (server-side apply as flagops-data-store-api); a fact another field manager owns (GitOps) is a 409 naming it, unless ?force=true",
    params: ids,
    query: WriteQuery,
    permission: { ...get, verb: 'patch' },
    watchedNamespace: true,
    body: RollbackBody,
    docParameters: [IF_MATCH_HEADER],
    responses: {
      200: {
        description: 'the facts after the rollback; 202 when not yet visible on this replica',
        schema: z.object({ rolledBackTo: z.number(), facts: z.record(z.string(), z.unknown()) }),
      },
    },
    errors: [400, 401, 403, 404, 409, 412, 413, 503],
    handler: async (ctx) => {
      const { ns, id } = ctx.params;
      const { revision } = ctx.body;
      const history = historyOf(ctx);
      const obj = await history.identity(ns, id);
      if (!obj?.metadata.uid) throw notFound(`identity ${ns}/${id} has no facts`);
      const target = await history.get(ns, id, obj.metadata.uid, revision);
      if (!target) await orUnavailable(history.refsOf(ns, obj.metadata.uid));
      if (!target) throw notFound(`revision ${revision} of ${ns}/${id} is not kept (see its history)`);
      // The plan compares with what this replica serves: first let its store catch up with the object just read,
      // or a fact changed a moment ago would be taken as already at the target and left as it is.
      const rv = obj.metadata.resourceVersion;
      if (
        rv &&
        !(await ctx.deps.reader.until(
          ns,
          id,
          (i) => reached(i?.facts?.resourceVersion, rv),
          ROLLBACK_CATCH_UP_MS,
        ))
      )
        throw unavailable(`this replica has not caught up with ${ns}/${id} yet; try again`, 1);
      const served = ctx.deps.reader.get(ns, id)?.facts?.values ?? {};
      const change = rollbackChange(target.spec.facts, served, obj.spec?.facts ?? {});
      const count = (result: string) => ctx.deps.metrics?.rollbacks.inc({ result });
      try {
        const result = await ctx.deps.writer.writeFacts(ns, id, {
          ...change,
          force: ctx.query.force,
          ifMatch: parseIfMatch(ctx.request.headers['if-match']),
          origin: `user:${ctx.user.username}`,
          ignoreMissing: true,
        });
        count('done');
        ctx.reply.code(result.visible ? 200 : 202).header('etag', `"${result.generation}"`);
        return { rolledBackTo: revision, facts: result.facts };
      } catch (err) {
        count(err instanceof WriteError && err.kind === 'Conflict' ? 'conflict' : 'error');
        throw err;
      }
    },
  }),
  route({
    method: 'GET',
    path: '/api/v1/namespaces/:ns/identities/:id/history',
    tags: ['facts'],
    summary:
      'The kept FactRevisions of an identity, oldest first, paged: facts after each change, the diff, who and how',
    params: ids,
    query: HistoryQuery,
    permission: get,
    watchedNamespace: true,
    responses: { 200: { description: 'one page of revisions', schema: HistoryPage } },
    errors: [400, 401, 403, 404],
    handler: async (ctx) => {
      const { ns, id } = ctx.params;
      const history = historyOf(ctx);
      const uid = await uidOf(history, ns, id);
      const page = await orUnavailable(history.page(ns, uid, ctx.query.limit ?? 10, ctx.query.continue));
      return {
        items: page.items.map(revisionView),
        ...(page.continue ? { continue: page.continue } : {}),
      };
    },
  }),
];
