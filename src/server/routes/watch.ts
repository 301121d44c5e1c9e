/**
 * The change feed: Server-Sent Events, one per identity change, carrying key names only. Event ids are store
 * revisions: a client that reconnects with Last-Event-ID gets what it missed, or a `reset` event when the
 * replay buffer no longer reaches back that far (drop the cache and re-read).
 */
import type { ServerResponse } from 'node:http';
import { Router } from 'express';
import { z } from 'zod';
import type { ChangeEvent, StoreReader } from '../../store/store.js';
import { type Auth, authorize } from '../auth/middleware.js';
import { HttpError } from '../errors.js';
import { IdentityName, NamespaceName, parse } from '../validate.js';

export const WatchQuery = z
  .object({
    namespace: NamespaceName.optional(),
    identity: IdentityName.optional(),
    /** An event id to resume after, as Last-Event-ID. */
    since: z.string().max(64).optional(),
  })
  .strict();

/** A client that lets this much pile up unread is cut off (it reconnects and resumes, or gets `reset`). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

export function watchRouter(deps: {
  reader: StoreReader;
  auth: Auth;
  heartbeatMs?: number;
  streams?: Set<ServerResponse>;
  maxStreams?: number;
}): Router {
  const r = Router();
  let open = 0;
  r.get('/watch', async (req, res) => {
    const q = parse(WatchQuery, req.query, 'query');
    if (open >= (deps.maxStreams ?? 1000)) {
      throw new HttpError(
        429,
        'TooManyRequests',
        'too many open change-feed streams; retry later',
        undefined,
        {
          'retry-after': '5',
        },
      );
    }
    // The slot is taken before the first await and given back exactly once, however the request ends: a
    // client that leaves during the permission check must not leak it, and concurrent requests cannot all pass
    // the check above.
    open++;
    let unsubscribe: (() => void) | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      open--;
      deps.streams?.delete(res);
      clearInterval(heartbeat);
      unsubscribe?.();
    };
    res.once('close', release);
    try {
      await authorize(deps.auth, res, {
        verb: 'watch',
        resource: 'deploymentfacts',
        namespace: q.namespace,
        name: q.identity,
      });
    } catch (err) {
      release();
      throw err;
    }
    if (req.destroyed || res.destroyed) return release();
    // Event ids are `<store epoch>.<revision>`. An id from another replica or an earlier process, or one from
    // the future, cannot be resumed from: the client gets `reset` and re-reads.
    const resumeFrom = req.get('last-event-id') ?? q.since;
    const parsed = resumeFrom === undefined ? undefined : /^([0-9a-f]+)\.(\d{1,15})$/.exec(resumeFrom);
    const resumable =
      parsed !== undefined &&
      parsed !== null &&
      parsed[1] === deps.reader.epoch &&
      Number(parsed[2]) <= deps.reader.revision;
    const since = resumable ? Number(parsed[2]) : undefined;
    const mustReset = resumeFrom !== undefined && !resumable;
    const matches = (e: ChangeEvent) =>
      (q.namespace === undefined || e.namespace === q.namespace) &&
      (q.identity === undefined || e.name === q.identity);

    res.status(200).set({
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    // Backpressure: a stream whose client stops reading is ended instead of buffering without bound.
    const write = (chunk: string) => {
      if (res.destroyed) return;
      res.write(chunk);
      if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
    };
    const send = (e: ChangeEvent) => {
      if (matches(e))
        write(`id: ${deps.reader.epoch}.${e.revision}\nevent: change\ndata: ${JSON.stringify(e)}\n\n`);
    };
    // Subscribe before replaying so that nothing falls between the two; duplicates are skipped by revision.
    // (Replay is synchronous, so no live event can interleave with it.)
    let replayedUpTo = since ?? deps.reader.revision;
    unsubscribe = deps.reader.onChange((e) => {
      if (e.revision > replayedUpTo) send(e);
    });
    res.write(`retry: 1000\n: connected at revision ${deps.reader.revision}\n\n`);
    const reset = () =>
      write(
        `id: ${deps.reader.epoch}.${deps.reader.revision}\nevent: reset\ndata: {"revision":${deps.reader.revision}}\n\n`,
      );
    if (mustReset) reset();
    if (since !== undefined) {
      const missed = deps.reader.changesSince(since);
      if (missed === undefined) reset();
      else for (const e of missed) send(e);
    }
    replayedUpTo = deps.reader.revision;
    heartbeat = setInterval(() => write(': ping\n\n'), deps.heartbeatMs ?? 15_000);
    heartbeat.unref();
    deps.streams?.add(res);
  });
  return r;
}
