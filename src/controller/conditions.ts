import type { Condition } from '../api/conditions.js';

/**
 * Returns `list` with `next` set in place of any condition of the same type. `lastTransitionTime` moves only when
 * the status changes, as the Kubernetes API conventions ask. Pure: the clock comes in as `now`.
 */
export function setCondition(
  list: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const current = list?.find((c) => c.type === next.type);
  const lastTransitionTime =
    current && current.status === next.status ? current.lastTransitionTime : secondOf(now);
  const updated: Condition = { ...next, lastTransitionTime };
  const others = (list ?? []).filter((c) => c.type !== next.type);
  return [...others, updated].sort((a, b) => a.type.localeCompare(b.type));
}

let lastSecond = { ms: Number.NaN, text: '' };
/** RFC 3339 at second precision; one string per second, shared by every condition written in it. */
function secondOf(now: Date): string {
  const ms = Math.floor(now.getTime() / 1000) * 1000;
  if (ms !== lastSecond.ms) lastSecond = { ms, text: new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z') };
  return lastSecond.text;
}

/** Status equality that ignores key order, so an unchanged status is never written. */
export function sameStatus(a: unknown, b: unknown): boolean {
  // Called for every object of every list: plain JSON data is compared in place, without a sorted copy and a string
  // of each side. Anything else (a Date, a non-finite number, undefined in a list…) is compared as JSON.
  if (plain(a) && plain(b)) return deepEqual(a, b);
  return stableJson(a) === stableJson(b);
}

/** Whether `v` is JSON data throughout, so that comparing it in place means what comparing its JSON means. */
function plain(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (v[i] === undefined || !plain(v[i])) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(v).length) return false;
  for (const k in v) {
    const e = (v as Record<string, unknown>)[k];
    if (!Object.hasOwn(v, k) || (e !== undefined && !plain(e))) return false;
  }
  return true;
}

/** Equality of plain data up to key order; a property set to undefined counts as absent, as in JSON. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const k in x) {
    if (x[k] === undefined) continue;
    count++;
    if (!deepEqual(x[k], Object.hasOwn(y, k) ? y[k] : undefined)) return false;
  }
  for (const k in y) if (y[k] !== undefined) count--;
  return count === 0;
}

function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([x], [y]) => x.localeCompare(y)))
      : val,
  );
}
