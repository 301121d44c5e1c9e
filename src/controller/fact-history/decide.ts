/**
 * Fact history, the pure part: what changed between two states of an identity's served facts, who changed each
 * fact and through what, and which revisions fall beyond the limit. No I/O, no clock.
 */

import type { RevisionDiff, RevisionPath, RevisionWriter } from '../../api/fact-revision.js';
import type { FactMap } from '../../api/facts.js';
import { SOURCE_FIELD_MANAGER_PREFIX } from '../../api/field-managers.js';
import type { ManagedFieldsEntry } from '../../api/types.js';
import { type ProfileLayer, profileKey } from '../../store/layers.js';
import { describeProvenance, type FactOwners, pathOf } from '../../store/provenance.js';

/** Old values are left out of a revision above this many characters of JSON (etcd refuses objects over 1.5 MiB). */
export const PREVIOUS_BUDGET_CHARS = 400_000;

const has = (m: Readonly<FactMap> | undefined, k: string) => m !== undefined && Object.hasOwn(m, k);

/** Added, changed and removed fact names (sorted), with the old values when they fit the budget. */
export function diffFacts(
  prev: Readonly<FactMap> | undefined,
  next: Readonly<FactMap>,
  budgetChars = PREVIOUS_BUDGET_CHARS,
): RevisionDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  const previous: FactMap = {};
  for (const k of Object.keys(next).sort()) {
    if (!has(prev, k)) added.push(k);
    else if (prev![k] !== next[k]) {
      changed.push(k);
      previous[k] = prev![k]!;
    }
  }
  for (const k of Object.keys(prev ?? {}).sort()) {
    if (!has(next, k)) {
      removed.push(k);
      previous[k] = prev![k]!;
    }
  }
  const diff: RevisionDiff = { added, changed, removed };
  if (changed.length + removed.length === 0) return diff;
  return JSON.stringify(previous).length <= budgetChars
    ? { ...diff, previous }
    : { ...diff, previousOmitted: true };
}

/** The facts as an identity's served entry holds them: what the recorder needs to name who set each. */
export interface ServedFacts {
  readonly values: Readonly<FactMap>;
  readonly own?: Readonly<FactMap>;
  readonly layers?: readonly ProfileLayer[];
  readonly owners?: FactOwners;
}

type Who = Omit<RevisionWriter, 'facts'>;

export const UNKNOWN_WRITER: Who = Object.freeze({ manager: 'unknown', path: 'other', by: 'unknown' });

/**
 * Who made the change: per added or changed fact, the profile that serves it or, for the identity's own facts, its
 * provenance (field manager, and the API's user or webhook); removed facts go to `lastWriter` (whoever wrote the
 * object last, as managedFields tell), since nobody owns a fact that is gone.
 */
export function writersOf(
  served: ServedFacts,
  diff: RevisionDiff,
  lastWriter: Who | undefined,
): RevisionWriter[] {
  const own = served.own ?? served.values;
  const provenance = describeProvenance(served.owners);
  const groups = new Map<string, RevisionWriter>();
  const add = (who: Who, fact: string) => {
    const key = `${who.manager}\0${who.path}\0${who.by}\0${who.at ?? ''}`;
    const g = groups.get(key);
    if (g) g.facts.push(fact);
    else groups.set(key, { ...who, facts: [fact] });
  };
  const unknown: Who = lastWriter ?? UNKNOWN_WRITER;
  for (const fact of [...diff.added, ...diff.changed]) {
    if (has(own, fact)) {
      const p = provenance[fact];
      add(p ? { manager: p.manager, path: p.path, by: p.by, ...(p.at ? { at: p.at } : {}) } : unknown, fact);
      continue;
    }
    // Served from a profile: the last layer that sets it wins (layers.ts).
    const layer = [...(served.layers ?? [])].reverse().find((l) => has(l.facts, fact));
    add(layer ? { manager: profileKey(layer), path: 'profile', by: layer.name } : unknown, fact);
  }
  for (const fact of diff.removed) add(unknown, fact);
  return [...groups.values()];
}

/**
 * Whoever wrote the object's spec since the previous revision: the managedFields entry with the latest time that holds
 * spec fields, and for the API's own, the user or webhook it recorded in `lastWrittenBy` (`flagops.io/last-written-by`).
 * managedFields keep no record of who removed a field, and their times have second precision: an entry counts only
 * when its second is after the second of `since` (the previous revision's recordedAt); else nobody is named.
 */
export function lastWriterOf(
  entries: readonly ManagedFieldsEntry[] | undefined,
  lastWrittenBy: string | undefined,
  since?: string,
): Who | undefined {
  const after =
    since === undefined ? Number.NEGATIVE_INFINITY : Math.floor(Date.parse(since) / 1000) * 1000 + 1000;
  let best: ManagedFieldsEntry | undefined;
  for (const e of entries ?? []) {
    if (e.subresource || !(e.fieldsV1 as Record<string, unknown> | undefined)?.['f:spec']) continue;
    if (!e.time || !(Date.parse(e.time) >= after)) continue;
    if (!best || e.time > best.time!) best = e;
  }
  if (!best) return undefined;
  const manager = best.manager ?? 'unknown';
  let path: RevisionPath = pathOf(manager);
  let by = path === 'source' ? manager.slice(SOURCE_FIELD_MANAGER_PREFIX.length) : manager;
  if (path === 'api' && lastWrittenBy) {
    by = lastWrittenBy;
    if (by.startsWith('webhook:')) path = 'webhook';
  }
  return { manager, path, by, at: best.time! };
}

/** The revisions to delete so that at most `limit` remain, oldest first; `kept` is ascending. */
export function beyondLimit(kept: readonly number[], limit: number): number[] {
  return kept.length > limit ? kept.slice(0, kept.length - limit) : [];
}
