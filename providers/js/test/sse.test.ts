import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/sse.js';

describe('SseParser', () => {
  it('parses events split across arbitrary chunks', () => {
    const text = 'id: 7\nevent: change\ndata: {"a":1}\n\n: ping\n\nid: 8\nevent: change\ndata: {"b":2}\n\n';
    for (let size = 1; size <= text.length; size++) {
      const parser = new SseParser();
      const events = [];
      for (let i = 0; i < text.length; i += size) events.push(...parser.push(text.slice(i, i + size)));
      expect(events).toEqual([
        { event: 'change', data: '{"a":1}', id: '7' },
        { event: 'change', data: '{"b":2}', id: '8' },
      ]);
      expect(parser.lastEventId).toBe('8');
    }
  });

  it('handles CRLF split between chunks, CR-only lines and multi-line data', () => {
    const parser = new SseParser();
    expect(parser.push('data: one\r')).toEqual([]);
    expect(parser.push('\ndata:two\r\r\n')).toEqual([{ event: 'message', data: 'one\ntwo', id: undefined }]);
  });

  it('ignores comments, keeps ids across events and dispatches a data-less reset', () => {
    const parser = new SseParser('3');
    expect(parser.push(': ping\n\n')).toEqual([]);
    expect(parser.push('event: reset\n\n')).toEqual([{ event: 'reset', data: '', id: '3' }]);
    expect(parser.push('data: x\n\n')).toEqual([{ event: 'message', data: 'x', id: '3' }]);
  });

  it('reads retry and ignores unknown fields and ids with NUL', () => {
    const parser = new SseParser();
    expect(parser.push('retry: 1500\nfoo: bar\nid: a\0b\ndata\n\n')).toEqual([
      { event: 'message', data: '', id: undefined },
    ]);
    expect(parser.retryMs).toBe(1500);
  });
});
