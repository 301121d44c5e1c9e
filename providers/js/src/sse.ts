const EOL = /\r\n|\r|\n/g;

/** One Server-Sent Event as dispatched by {@link SseParser}. */
export interface SseEvent {
  /** `event:` field, `"message"` when absent. */
  event: string;
  /** `data:` lines joined with `\n`. */
  data: string;
  /** The last `id:` seen on the stream so far (ids persist across events, as in EventSource). */
  id: string | undefined;
}

/**
 * Incremental parser for `text/event-stream` (the WHATWG EventSource algorithm): feed decoded text
 * chunks in any split, get whole events back. Written here rather than pulled in as a dependency
 * because the format is small and the stream comes from `fetch`, not a browser EventSource.
 *
 * One deliberate difference: an event that has an `event:` name but no data is still dispatched,
 * so a bare `event: reset` from the server is not lost.
 */
export class SseParser {
  private buffer = '';
  private eventName = '';
  private dataLines: string[] = [];
  private hasData = false;
  private lastId: string | undefined;
  /** Reconnection delay the server asked for with `retry:`, if any. */
  retryMs: number | undefined;

  constructor(lastEventId?: string) {
    this.lastId = lastEventId;
  }

  get lastEventId(): string | undefined {
    return this.lastId;
  }

  /** Parses `chunk` and returns the events it completed. */
  push(chunk: string): SseEvent[] {
    this.buffer += chunk;
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      EOL.lastIndex = start;
      const found = EOL.exec(this.buffer);
      if (!found) break;
      // A lone trailing "\r" may be the first half of "\r\n": wait for the next chunk.
      if (found[0] === '\r' && found.index === this.buffer.length - 1) break;
      const line = this.buffer.slice(start, found.index);
      start = found.index + found[0].length;
      const event = this.line(line);
      if (event) events.push(event);
    }
    this.buffer = this.buffer.slice(start);
    return events;
  }

  private line(line: string): SseEvent | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined; // comment, e.g. ": ping"
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventName = value;
        break;
      case 'data':
        this.dataLines.push(value);
        this.hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) this.lastId = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retryMs = Number(value);
        break;
      default: // unknown fields are ignored by the spec
    }
    return undefined;
  }

  private dispatch(): SseEvent | undefined {
    const event =
      this.hasData || this.eventName !== ''
        ? { event: this.eventName || 'message', data: this.dataLines.join('\n'), id: this.lastId }
        : undefined;
    this.eventName = '';
    this.dataLines = [];
    this.hasData = false;
    return event;
  }
}
