/**
 * The change feed: Server-Sent Events, one per identity change, carrying key names only. Event ids are store
 * revisions: a client that reconnects with Last-Event-ID gets what it missed, or a `reset` event when the
 * replay buffer no longer reaches back that far (drop the cache and re-read).
 *
 * Streams are capped per replica and per caller. Both caps are applied after authentication and authorisation,
 * so a caller who may not watch never holds a slot, and one caller (anonymous callers are one caller) cannot
 * fill the replica's slots.
 */
import { z } from 'zod';
import type { ChangeEvent } from '../../store/store.js';
import { route, type StreamSlots } from '../route-spec.js';
import { openSseStream, resumableRevision, SSE_HEADERS } from '../sse.js';
import { IdentityName, NamespaceName } from '../validate.js';

export const WatchQuery = z
  .object({
    namespace: NamespaceName.optional(),
    identity: IdentityName.optional(),
    /** An event id to resume after, as Last-Event-ID. */
    since: z.string().max(64).optional(),
  })
  .strict();

export const DEFAULT_MAX_STREAMS = 1000;
export const DEFAULT_MAX_STREAMS_PER_CALLER = 100;

export function streamSlots(
  max = DEFAULT_MAX_STREAMS,
  maxPerCaller = DEFAULT_MAX_STREAMS_PER_CALLER,
): StreamSlots {
  return { open: new Set(), perCaller: new Map(), max, maxPerCaller };
}

const ChangeEventDoc = z.object({
  revision: z.number().int(),
  kind: z.enum(['facts', 'secrets']),
  action: z.enum(['upsert', 'delete']),
  namespace: z.string(),
  name: z.string(),
  keys: z.array(z.string()),
});

export const watchRoutes = [
  route({
    method: 'GET',
    path: '/api/v1/watch',
    tags: ['changes'],
    summary: 'Server-Sent Events, one per identity change (key names only); resume with Last-Event-ID',
    query: WatchQuery,
    permission: {
      verb: 'watch',
      resource: 'deploymentfacts',
      namespace: { query: 'namespace' },
      name: { query: 'identity' },
    },
    watchedNamespace: true,
    cors: true,
    responses: {
      200: {
        description:
          'event stream; `event: change` carries the JSON below, `event: reset` means re-read everything',
        schema: ChangeEventDoc,
        contentType: 'text/event-stream',
      },
    },
    errors: [400, 401, 403, 404, 429],
    handler: ({ query: q, deps, user, request, reply }) => {
      // HEAD (Fastify serves it with this handler): the headers of a stream, and no stream to hold a slot.
      if (request.method === 'HEAD') return reply.headers(SSE_HEADERS).send();
      const stream = openSseStream({
        slots: deps.streams,
        caller: user.username,
        request,
        reply,
        heartbeatMs: deps.heartbeatMs,
        noun: 'change-feed',
      });
      if (!stream) return reply.code(499).send();

      const { reader } = deps;
      // Event ids are `<store epoch>.<revision>`. An id from another replica or an earlier process, or one from
      // the future, cannot be resumed from: the client gets `reset` and re-reads.
      const resumeFrom = (request.headers['last-event-id'] as string | undefined) ?? q.since;
      const since = resumableRevision(resumeFrom, reader);
      const mustReset = resumeFrom !== undefined && since === undefined;
      const matches = (e: ChangeEvent) =>
        (q.namespace === undefined || e.namespace === q.namespace) &&
        (q.identity === undefined || e.name === q.identity);
      const { write } = stream;
      const send = (e: ChangeEvent) => {
        if (matches(e))
          write(`id: ${reader.epoch}.${e.revision}\nevent: change\ndata: ${JSON.stringify(e)}\n\n`);
      };
      // Subscribe before replaying so that nothing falls between the two; duplicates are skipped by revision.
      // (Replay is synchronous, so no live event can interleave with it.)
      let replayedUpTo = since ?? reader.revision;
      stream.onClose(
        reader.onChange((e) => {
          if (e.revision > replayedUpTo) send(e);
        }),
      );
      write(`retry: 1000\n: connected at revision ${reader.revision}\n\n`);
      const reset = () =>
        write(
          `id: ${reader.epoch}.${reader.revision}\nevent: reset\ndata: {"revision":${reader.revision}}\n\n`,
        );
      if (mustReset) reset();
      if (since !== undefined) {
        const missed = reader.changesSince(since);
        if (missed === undefined) reset();
        else for (const e of missed) send(e);
      }
      replayedUpTo = reader.revision;
      return reply;
    },
  }),
];
