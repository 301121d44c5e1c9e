/** Reads a Server-Sent Events stream in the background for tests: each event with data, as it comes. */

export interface SseEvent {
  id?: string;
  event?: string;
  data: { type: string; etag?: string } & Record<string, unknown>;
}

/** GETs `url` and, when it answers 200, collects its events into `events` until `close()`. */
export async function followSse(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const events: SseEvent[] = [];
  const reader = res.status === 200 ? res.body!.getReader() : undefined;
  if (reader) {
    let text = '';
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        text += new TextDecoder().decode(value);
        const blocks = text.split('\n\n');
        text = blocks.pop()!;
        for (const b of blocks)
          if (b.includes('data: '))
            events.push({
              id: /^id: (.*)$/m.exec(b)?.[1],
              event: /^event: (.*)$/m.exec(b)?.[1],
              data: JSON.parse(/^data: (.*)$/m.exec(b)![1]!),
            });
      }
    })();
  }
  return { res, events, close: () => reader?.cancel().catch(() => {}) };
}
