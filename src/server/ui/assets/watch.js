// @ts-check
// The change feed (Server-Sent Events) read with fetch(), since EventSource cannot send an Authorization
// header. Reconnects with Last-Event-ID after a dropped connection; gives up (and says why) on 401 and 403.
import { API_BASE, errorOf, withAuth } from './api.js';

/**
 * @typedef {{revision: number, kind: 'facts' | 'secrets', action: string, namespace: string, name: string,
 *   keys?: string[]}} ChangeEvent
 * @typedef {{
 *   namespace?: string,
 *   identity?: string,
 *   onChange: (e: ChangeEvent) => void,
 *   onReset: () => void,
 *   onState: (state: 'connecting' | 'live' | 'retrying' | 'denied', error?: import('./api.js').ApiError) => void,
 * }} WatchOptions
 */

/** Starts watching; returns a function that stops. @param {WatchOptions} opts */
export function watch(opts) {
  const controller = new AbortController();
  let lastEventId = '';
  let retryMs = 1000;
  let stopped = false;

  const url = new URL('watch', API_BASE);
  if (opts.namespace) url.searchParams.set('namespace', opts.namespace);
  if (opts.identity) url.searchParams.set('identity', opts.identity);

  /** @param {string} block one event's lines */
  const dispatch = (block) => {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') lastEventId = value;
      else if (field === 'retry' && /^[0-9]+$/.test(value)) retryMs = Math.max(500, Number(value));
    }
    if (event === 'reset') opts.onReset();
    else if (event === 'change' && data.length > 0) {
      try {
        opts.onChange(JSON.parse(data.join('\n')));
      } catch {
        // A malformed event: re-read everything rather than guess.
        opts.onReset();
      }
    }
  };

  const run = async () => {
    let failures = 0;
    while (!stopped) {
      opts.onState(failures === 0 ? 'connecting' : 'retrying');
      try {
        const headers = withAuth({ accept: 'text/event-stream' });
        if (lastEventId) headers['last-event-id'] = lastEventId;
        const res = await fetch(url, {
          headers,
          signal: controller.signal,
          cache: 'no-store',
          credentials: 'omit',
        });
        if (res.status === 401 || res.status === 403) {
          const err = await errorOf(res);
          if (!stopped) opts.onState('denied', err);
          return;
        }
        if (!res.ok || !res.body) throw await errorOf(res);
        failures = 0;
        opts.onState('live');
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer = (buffer + value).replace(/\r\n?/g, '\n');
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            dispatch(buffer.slice(0, end));
            buffer = buffer.slice(end + 2);
          }
        }
      } catch {
        if (stopped) return;
      }
      failures++;
      // Back off up to half a minute, a little jittered, so that many tabs do not reconnect in step.
      const delay = Math.min(30_000, retryMs * 2 ** Math.min(failures - 1, 5)) * (0.8 + Math.random() * 0.4);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  };
  run();

  return () => {
    stopped = true;
    controller.abort();
  };
}
