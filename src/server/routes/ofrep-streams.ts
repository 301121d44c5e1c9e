/**
 * OFREP event streams (open-feature/protocol ADR-0008): a bulk evaluation names, in `eventStreams`, a Server-Sent
 * Events stream of its identity; each change of the identity's facts sends `{"type":"refetchEvaluation"}` there,
 * and the provider evaluates again instead of polling. Notification only: the facts themselves are never sent.
 *
 * Scoped and authorised like the change feed: a stream follows one identity, the caller must be allowed to
 * `watch` its DeploymentFacts (asked again with a SubjectAccessReview when the stream opens), and it takes a slot
 * of the same per-replica and per-caller caps (`--max-streams`, `--max-streams-per-caller`). Who the caller is
 * comes from the ticket in the URL (`stream-ticket.ts`), since EventSource sends no Authorization header.
 *
 * Event ids are `<store epoch>.<revision>`: a provider that reconnects with Last-Event-ID is told to refetch if it
 * missed a change, or when this replica cannot tell (another epoch, an id the replay buffer no longer reaches).
 * The ticket, whose key belongs to this process, is valid only on the replica that issued it: elsewhere the
 * stream is a 401, and the provider evaluates again (for a new URL) with backoff, or polls.
 */
import { z } from 'zod';
import type { ChangeEvent, StoreReader } from '../../store/store.js';
import type { User } from '../auth/authenticator.js';
import type { Permission } from '../auth/authorizer.js';
import { authorize } from '../auth/middleware.js';
import { unauthorized } from '../errors.js';
import { route, type ServerContext } from '../route-spec.js';
import { openSseStream, resumableRevision, SSE_HEADERS } from '../sse.js';

export const OFREP_STREAM_PATH = '/ofrep/v1/event-stream';

const watchPermission = (namespace: string, name: string): Permission => ({
  verb: 'watch',
  resource: 'deploymentfacts',
  namespace,
  name,
});

/** ADR-0008's `eventStream` entry. */
export const EventStreamDoc = z.object({
  type: z.literal('sse'),
  endpoint: z.object({
    requestUri: z
      .string()
      .describe('path and query of the stream, on the origin of the OFREP base URL the provider was given'),
  }),
});
export type EventStream = z.infer<typeof EventStreamDoc>;

/**
 * The `eventStreams` of a bulk evaluation for `user`, or undefined when it may not watch the identity (or this
 * cannot be asked now): the provider then keeps polling, as without streams.
 */
export async function eventStreamsFor(
  deps: ServerContext,
  user: User,
  namespace: string,
  name: string,
): Promise<EventStream[] | undefined> {
  const allowed = await deps.auth.authorizer
    .allowed(user, watchPermission(namespace, name))
    .catch(() => false);
  if (!allowed) return undefined;
  const ticket = deps.tickets.issue({
    user,
    namespace,
    name,
    revision: deps.reader.get(namespace, name)?.revision ?? 0,
    epoch: deps.reader.epoch,
  });
  // No origin: the provider takes its configured base URL's, which is how it reached this server.
  return [{ type: 'sse', endpoint: { requestUri: `${OFREP_STREAM_PATH}?ticket=${ticket}` } }];
}

/**
 * The `etag` a refetch event carries, echoed as `flagConfigEtag` on the refetch: the DeploymentFacts'
 * resourceVersion, which every replica can compare (`reached`), unlike this replica's revisions.
 */
export function flagConfigEtag(reader: StoreReader, namespace: string, name: string): string | undefined {
  const rv = reader.get(namespace, name)?.facts?.resourceVersion;
  return rv ? `"${rv}"` : undefined;
}

/** The resourceVersion a `flagConfigEtag` names, if it is one of ours. */
export function parseFlagConfigEtag(value: string | undefined): string | undefined {
  const m = value === undefined ? null : /^(?:W\/)?"?(\d{1,20})"?$/.exec(value.trim());
  return m ? m[1] : undefined;
}

const StreamQuery = z
  .object({ ticket: z.string().min(1).max(16_384).describe('from the bulk evaluation') })
  .strict();

const RefetchDoc = z.object({
  type: z.literal('refetchEvaluation'),
  etag: z
    .string()
    .optional()
    .describe("the DeploymentFacts' resourceVersion, quoted; send it as flagConfigEtag"),
});

export const ofrepStreamRoutes = [
  route({
    method: 'GET',
    path: OFREP_STREAM_PATH,
    tags: ['ofrep'],
    summary:
      'OFREP event stream (ADR-0008) of one identity: `refetchEvaluation` after each change of its facts; the URL comes from a bulk evaluation',
    query: StreamQuery,
    authorizeInHandler:
      "`watch deploymentfacts` on the ticket's identity, for the caller the ticket names (EventSource sends no Authorization header), checked when the stream opens",
    cors: true,
    responses: {
      200: {
        description:
          'event stream; each event is `event: message` with the JSON below as `data`, and an id to resume after',
        schema: RefetchDoc,
        contentType: 'text/event-stream',
      },
    },
    errors: [400, 401, 403, 429],
    handler: async (ctx) => {
      const { deps, request, reply } = ctx;
      const ticket = deps.tickets.open(ctx.query.ticket);
      if (!ticket)
        throw unauthorized(
          'this event-stream URL is not valid on this server (expired, altered, or issued with another key: replicas share one only with --stream-ticket-key-file): evaluate the flags again for a new one',
        );
      const { namespace, name } = ticket;
      await authorize(deps.auth, ticket.user, watchPermission(namespace, name));
      // The permission above is the ticket's caller's, not the request's (anonymous) one: nothing more to ask.
      await ctx.authorize();
      if (request.method === 'HEAD') return reply.headers(SSE_HEADERS).send();
      const stream = openSseStream({
        slots: deps.streams,
        caller: ticket.user.username,
        request,
        reply,
        heartbeatMs: deps.heartbeatMs,
        noun: 'event',
      });
      if (!stream) return reply.code(499).send();

      const { reader } = deps;
      const { write } = stream;
      const refetch = (revision: number) => {
        const etag = flagConfigEtag(reader, namespace, name);
        const data = JSON.stringify(
          etag ? { type: 'refetchEvaluation', etag } : { type: 'refetchEvaluation' },
        );
        write(`id: ${reader.epoch}.${revision}\nevent: message\ndata: ${data}\n\n`);
      };
      // Secrets are never served over OFREP: their changes do not concern a provider.
      const concerns = (e: ChangeEvent) =>
        e.namespace === namespace && e.name === name && e.kind !== 'secrets';

      const lastEventId = request.headers['last-event-id'] as string | undefined;
      const since = resumableRevision(lastEventId, reader);
      let replayedUpTo = reader.revision;
      stream.onClose(
        reader.onChange((e) => {
          if (e.revision > replayedUpTo && concerns(e)) refetch(e.revision);
        }),
      );
      write(`retry: 1000\n: connected at revision ${reader.revision}\n\n`);
      if (lastEventId !== undefined) {
        // A reconnect: what was missed, or one refetch when this replica cannot tell what that was.
        const missed = since === undefined ? undefined : reader.changesSince(since);
        if (missed === undefined) refetch(reader.revision);
        else {
          const last = missed.filter(concerns).at(-1);
          if (last) refetch(last.revision);
        }
      } else if (
        ticket.epoch !== reader.epoch ||
        (reader.get(namespace, name)?.revision ?? 0) !== ticket.revision
      ) {
        // The identity changed between the evaluation that issued the URL and this connection, or another
        // replica issued it (its revisions do not compare with this one's): one refetch to be sure.
        refetch(reader.revision);
      }
      replayedUpTo = reader.revision;
      return reply;
    },
  }),
];
