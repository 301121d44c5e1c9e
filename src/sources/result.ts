/**
 * Query rows → facts per identity. Pure: no I/O. Two shapes:
 *  - `rows`: columns `identity`, `fact`, `value`, one row per fact;
 *  - `columns`: a column `identity`, and every other column is a fact named like the column.
 * A NULL value means "no such fact". Values become strings, except integers, which stay integers. A bad
 * identity or fact is left out and reported; the rest of the result still applies.
 */
import { FACT_NAME_PATTERN, type FactMap, FactValue, MAX_SAFE_INTEGER, NAME_RULE } from '../api/facts.js';
import { SECRET_NAME_PATTERN } from '../api/secrets.js';
import type { SourceShape } from '../api/sources.js';
import type { FactSourceError } from '../api/types.js';

export interface FactsResult {
  rows: number;
  /** Identity name → facts, in result order. */
  identities: Map<string, FactMap>;
  /** Identities or facts left out. Names and reasons only, never values. */
  problems: FactSourceError[];
}

/** The whole result is unusable (a missing column): the sync fails and nothing is applied. */
export class InvalidResultError extends Error {
  override readonly name = 'InvalidResultError';
}

const identityPattern = new RegExp(SECRET_NAME_PATTERN);
const factPattern = new RegExp(FACT_NAME_PATTERN);

export function factsFromRows(
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  shape: SourceShape,
): FactsResult {
  if (!columns.includes('identity'))
    throw new InvalidResultError(`the result has no column identity (columns: ${list(columns)})`);
  if (shape === 'rows') {
    const missing = ['fact', 'value'].filter((c) => !columns.includes(c));
    if (missing.length)
      throw new InvalidResultError(
        `shape rows needs the columns identity, fact and value; missing ${missing.join(', ')} (columns: ${list(columns)})`,
      );
  }
  const identities = new Map<string, FactMap>();
  const problems: FactSourceError[] = [];
  const badIdentities = new Set<string>();
  /** The facts of a valid identity (created empty), or undefined for an invalid one (reported once). */
  const identityFacts = (raw: unknown): [string, FactMap] | undefined => {
    const identity = raw === null || raw === undefined ? '' : String(raw);
    if (!identityPattern.test(identity) || identity.length > 253) {
      if (!badIdentities.has(identity)) {
        badIdentities.add(identity);
        problems.push({
          identity: identity.slice(0, 253),
          reason: 'InvalidIdentity',
          message:
            'an identity is a DNS subdomain name: lower-case letters, digits, "-" and ".", at most 253',
        });
      }
      return undefined;
    }
    let facts = identities.get(identity);
    if (!facts) {
      facts = {};
      identities.set(identity, facts);
    }
    return [identity, facts];
  };
  const addFact = (identity: string, facts: FactMap, factRaw: unknown, raw: unknown) => {
    const fact = factRaw === null || factRaw === undefined ? '' : String(factRaw);
    if (!factPattern.test(fact)) {
      problems.push({ identity, fact: fact.slice(0, 253), reason: 'InvalidFact', message: NAME_RULE });
      return;
    }
    if (raw === null || raw === undefined) return;
    const converted = toFactValue(raw);
    const parsed = converted === undefined ? undefined : FactValue.safeParse(converted);
    if (!parsed?.success) {
      problems.push({
        identity,
        fact,
        reason: 'InvalidFact',
        message: parsed
          ? `value ${parsed.error.issues[0]?.message ?? 'is invalid'}`
          : typeof raw === 'number'
            ? 'value is not a finite number (NaN or ±Infinity)'
            : 'value must be text, a number, a boolean, a date or JSON',
      });
      return;
    }
    if (Object.hasOwn(facts, fact)) {
      problems.push({
        identity,
        fact,
        reason: 'DuplicateFact',
        message: 'more than one row for this fact; the first is used',
      });
      return;
    }
    facts[fact] = parsed.data;
  };
  for (const row of rows) {
    // An identity whose facts are all NULL still appears (empty), so that its facts are removed.
    const target = identityFacts(row.identity);
    if (!target) continue;
    const [identity, facts] = target;
    if (shape === 'rows') addFact(identity, facts, row.fact, row.value);
    else
      for (const column of columns) if (column !== 'identity') addFact(identity, facts, column, row[column]);
  }
  return { rows: rows.length, identities, problems };
}

/**
 * A value as the fact schema takes it: strings, booleans and numbers within ±(2^53-1) keep their type; a number
 * beyond that (it would lose precision in JSON clients), a bigint, a date or JSON becomes a string.
 */
export function toFactValue(v: unknown): FactValue | undefined {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Math.abs(v) <= MAX_SAFE_INTEGER ? v : Number.isFinite(v) ? String(v) : undefined;
    case 'bigint':
      return v.toString();
    case 'object':
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v.toISOString();
      if (Buffer.isBuffer(v)) return undefined;
      return JSON.stringify(v);
    default:
      return undefined;
  }
}

const list = (columns: readonly string[]) => (columns.length ? columns.join(', ') : 'none');
