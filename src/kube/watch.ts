/**
 * One watch request: newline-delimited JSON events from the API server, handed to `onEvent` one by one; `done` is
 * called exactly once, with the error or with null when the server ended the stream. Same contract as client-node's
 * Watch.watch, without loading client-node. A connection that says nothing for `inactivityMs` is dropped (bookmarks
 * and the server's own timeoutSeconds keep a healthy one talking).
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { fetch } from 'undici';
import type { KubeAccess } from './access.js';

export type WatchEventHandler = (type: string, object: unknown) => void;

export interface Watcher {
  watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: WatchEventHandler,
    done: (err: unknown) => void,
  ): Promise<AbortController>;
}

export class KubeWatch implements Watcher {
  constructor(
    private readonly access: KubeAccess,
    private readonly inactivityMs = 11 * 60_000,
  ) {}

  async watch(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    onEvent: WatchEventHandler,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    const url = new URL(this.access.server + path);
    url.searchParams.set('watch', 'true');
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const controller = new AbortController();
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: unknown) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      controller.abort();
      done(err);
    };
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => finish(new Error('watch inactive; reconnecting')), this.inactivityMs);
      timer.unref();
    };
    try {
      touch();
      const auth = await this.access.prepare(url.toString(), 'GET');
      const response = await fetch(url, {
        headers: { ...auth.headers, accept: 'application/json' },
        dispatcher: auth.dispatcher,
        signal: controller.signal,
      });
      if (response.status !== 200) {
        await response.body?.cancel().catch(() => {});
        finish(
          Object.assign(new Error(`watch failed: HTTP ${response.status}`), { statusCode: response.status }),
        );
        return controller;
      }
      touch();
      const body = Readable.fromWeb(response.body as never);
      body.on('data', touch);
      body.on('error', (err) => finish(controller.signal.aborted ? (controller.signal.reason ?? err) : err));
      const lines = createInterface({ input: body, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', (line) => {
        if (finished || !line) return;
        let event: { type?: string; object?: unknown };
        try {
          event = JSON.parse(line);
        } catch {
          return; // a torn line: the next reconnect resumes from the last version seen
        }
        if (event.type) onEvent(event.type, event.object);
      });
      // readline re-emits the body's errors; finish() has already been told by the body.
      lines.on('error', () => {});
      lines.on('close', () => finish(null));
    } catch (err) {
      finish(err);
    }
    return controller;
  }
}
