/**
 * Summarises a V8 heap snapshot (.heapsnapshot) by what holds the bytes: self size per node type and
 * constructor name, largest first. Used by bench:compare to say where the operator's memory goes.
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  what: string;
  count: number;
  bytes: number;
}

export function summariseHeap(file: string, top = 15): { total: number; groups: HeapGroup[] } {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    const size = s.nodes[i + iSize]!;
    total += size;
    // Objects by constructor; strings, code, arrays and the rest by type.
    const what =
      type === 'object' || type === 'closure' ? `${type} ${s.strings[s.nodes[i + iName]!]}` : `(${type})`;
    const g = groups.get(what) ?? { what, count: 0, bytes: 0 };
    g.count++;
    g.bytes += size;
    groups.set(what, g);
  }
  return { total, groups: [...groups.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top) };
}
