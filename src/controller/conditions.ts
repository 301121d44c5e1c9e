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
  return stableJson(a) === stableJson(b);
}

function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val).sort(([x], [y]) => x.localeCompare(y)))
      : val,
  );
}
