/**
 * One Server-Sent Events stream, as both streams of this server open it (the change feed and OFREP's event
 * streams): a slot of the replica's and of the caller's caps (429 past either), the response taken over from
 * Fastify, writes that end a stream whose client stops reading, a heartbeat, and every slot given back exactly
 * once when the connection closes.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { tooManyRequests } from './errors.js';
import type { StreamSlots } from './route-spec.js';

/** A client that lets this much pile up unread is cut off (it reconnects and resumes, or is told to re-read). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

export interface SseStream {
  /** Writes a chunk unless the stream is gone; ends the stream when its client falls too far behind. */
  write(chunk: string): void;
  /** Runs once when the connection closes, for whatever the stream subscribed to. */
  onClose(cleanup: () => void): void;
}

/**
 * Takes a slot for `caller` and starts the stream (status 200, SSE headers, flushed), or throws 429 when the
 * replica or the caller has no slot left. `undefined` when the client is already gone (the caller answers 499).
 * No await between the check and the take, so concurrent requests cannot overshoot a cap.
 */
export function openSseStream(opts: {
  slots: StreamSlots;
  caller: string;
  request: FastifyRequest;
  reply: FastifyReply;
  heartbeatMs: number;
  /** What the streams are called in a 429's message. */
  noun: string;
}): SseStream | undefined {
  const { slots, caller, request, reply } = opts;
  const mine = slots.perCaller.get(caller) ?? 0;
  if (slots.open.size >= slots.max) throw tooManyRequests(`too many open ${opts.noun} streams; retry later`);
  if (mine >= slots.maxPerCaller)
    throw tooManyRequests(
      `too many open ${opts.noun} streams for this caller (at most ${slots.maxPerCaller})`,
    );
  const res: ServerResponse = reply.raw;
  if (request.raw.destroyed || res.destroyed) return undefined;
  slots.open.add(res);
  slots.perCaller.set(caller, mine + 1);
  const cleanups: (() => void)[] = [];
  let heartbeat: NodeJS.Timeout | undefined;
  res.once('close', () => {
    slots.open.delete(res);
    const left = (slots.perCaller.get(caller) ?? 1) - 1;
    if (left > 0) slots.perCaller.set(caller, left);
    else slots.perCaller.delete(caller);
    clearInterval(heartbeat);
    for (const c of cleanups.splice(0)) c();
  });

  reply.hijack();
  res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...SSE_HEADERS });
  res.flushHeaders();
  // Backpressure: a stream whose client stops reading is ended instead of buffering without bound.
  const write = (chunk: string) => {
    if (res.destroyed) return;
    res.write(chunk);
    if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
  };
  heartbeat = setInterval(() => write(': ping\n\n'), opts.heartbeatMs);
  heartbeat.unref();
  return {
    write,
    onClose: (cleanup) => {
      if (res.destroyed) cleanup();
      else cleanups.push(cleanup);
    },
  };
}

/** An event id `<store epoch>.<revision>` this store can resume after, else undefined. */
export function resumableRevision(
  id: string | undefined,
  reader: { readonly epoch: string; readonly revision: number },
): number | undefined {
  const parsed = id === undefined ? null : /^([0-9a-f]+)\.(\d{1,15})$/.exec(id);
  if (parsed === null || parsed[1] !== reader.epoch || Number(parsed[2]) > reader.revision) return undefined;
  return Number(parsed[2]);
}
