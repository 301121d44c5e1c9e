/**
 * Plans a facts write from the object as read and the caller's change. Pure: no I/O, no clock. The plan keeps
 * facts owned by other field managers (GitOps, fact sources) out of the API's apply, so that the API never
 * becomes a co-owner of a field it did not take over: a later GitOps apply can still change or remove it.
 */
import { type FactMap, type FactValue, MAX_FACTS } from '../api/facts.js';
import type { Ownership } from '../kube/managed-fields.js';
import { conflict, invalid, notFound, preconditionFailed, WriteError } from './errors.js';

export interface FactsChange {
  set?: Record<string, FactValue>;
  remove?: string[];
  force?: boolean;
  /** The metadata.generation the object must still have (If-Match). */
  ifMatch?: number;
  /** Who asked, recorded on the object: `user:<name>`, `webhook:<name>`. */
  origin: string;
  /** Removing a fact that is not there is a no-op rather than a 404 (webhooks are retried by their senders). */
  ignoreMissing?: boolean;
}

export interface CurrentFacts {
  facts: FactMap;
  generation: number;
  /** Ownership of spec.facts keys: the API's own (through Apply), and every other manager's. */
  ownership: Ownership;
}

export type FactsPlan =
  /** Nothing to write: the result is the current state. */
  | { op: 'none'; facts: FactMap; generation: number }
  | {
      op: 'apply';
      /** The object does not exist: the apply creates it (guarded, so that a concurrent creator's object is re-read). */
      create: boolean;
      /** Every fact the API owns after the write: the apply's whole spec.facts. */
      desired: FactMap;
      force: boolean;
      /** Facts owned by other managers that a forced removal deletes with an update after the apply. */
      forcedRemovals: string[];
    };

/**
 * The API writer's per-fact record after a write: who asked for each fact it now owns, and when. Facts this write
 * sets get `origin` and `at`; the others keep what the previous record said. Pure.
 */
export function nextOrigins(
  previous: string | undefined,
  desired: FactMap,
  set: Readonly<Record<string, unknown>>,
  origin: string,
  at: string,
): string {
  let before: Record<string, unknown> = {};
  try {
    const parsed: unknown = previous ? JSON.parse(previous) : {};
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      before = parsed as Record<string, unknown>;
  } catch {
    // a hand-edited record: start afresh
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(desired).sort()) {
    if (Object.hasOwn(set, key)) out[key] = { by: origin, at };
    else if (Object.hasOwn(before, key)) out[key] = before[key];
  }
  return JSON.stringify(out);
}

const NO_FACTS: CurrentFacts = {
  facts: {},
  generation: 0,
  ownership: { ours: new Set(), others: new Map() },
};

const owned = (key: string, others: ReadonlyMap<string, string[]>) => others.get(key);

export function planFactsApply(
  current: CurrentFacts | undefined,
  change: FactsChange,
): FactsPlan | WriteError {
  const set = change.set ?? {};
  const removeOnly = Object.keys(set).length === 0;
  if (!current) {
    if (removeOnly && !change.remove?.length) return notFound('the identity has no facts');
    if (change.ifMatch !== undefined) return preconditionFailed('the DeploymentFacts does not exist');
    if (removeOnly && change.ignoreMissing) return { op: 'none', facts: {}, generation: 0 };
    if (removeOnly) return notFound('the identity has no facts');
    // Planned as an empty object, so that a new identity gets the same checks (limits, missing removals).
    const plan = planFactsApply(NO_FACTS, change);
    return plan instanceof WriteError || plan.op !== 'apply' ? plan : { ...plan, create: true };
  }
  if (change.ifMatch !== undefined && current.generation !== change.ifMatch) {
    return preconditionFailed(
      `the DeploymentFacts is at generation ${current.generation}, not ${change.ifMatch}`,
    );
  }
  const { facts } = current;
  const { ours, others } = current.ownership;

  const remove: string[] = [];
  for (const key of change.remove ?? []) {
    if (!Object.hasOwn(facts, key)) {
      if (change.ignoreMissing) continue;
      return notFound(`fact ${key} not found`);
    }
    const owners = owned(key, others);
    if (owners && !change.force)
      return conflict(
        `fact ${key} is managed by ${owners.join(', ')}; repeat with ?force=true to delete it anyway`,
        key,
        owners,
      );
    remove.push(key);
  }

  const apply: FactMap = {};
  for (const [key, value] of Object.entries(set)) {
    const owners = owned(key, others);
    if (owners && !change.force) {
      if (!Object.hasOwn(facts, key) || facts[key] !== value)
        return conflict(
          `fact ${key} is managed by ${owners.join(', ')}; repeat with ?force=true to take it over`,
          key,
          owners,
        );
      // The same value another manager applied: nothing to change, and applying it would make the API a
      // co-owner that GitOps could then neither change nor remove.
      if (!ours.has(key)) continue;
    }
    apply[key] = value;
  }

  const desired: FactMap = {};
  for (const key of ours) if (Object.hasOwn(facts, key)) desired[key] = facts[key]!;
  Object.assign(desired, apply);
  for (const key of remove) delete desired[key];
  // A fact the API does not own alone (GitOps-owned, or owned by nobody once managedFields were cleared) is not
  // removed by leaving it out of the apply: only an update removes it.
  const forcedRemovals = remove.filter((k) => !ours.has(k) || others.has(k));

  const after = new Set(Object.keys(facts));
  for (const key of Object.keys(apply)) after.add(key);
  for (const key of remove) after.delete(key);
  if (after.size > MAX_FACTS)
    return invalid(
      `an identity holds at most ${MAX_FACTS} facts; this write would leave ${after.size}`,
      'facts',
    );

  const unchanged =
    Object.keys(apply).every((k) => ours.has(k) && facts[k] === apply[k]) &&
    remove.length === 0 &&
    !change.force;
  if (unchanged) return { op: 'none', facts, generation: current.generation };
  return { op: 'apply', create: false, desired, force: change.force === true, forcedRemovals };
}
