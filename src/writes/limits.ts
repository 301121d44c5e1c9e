/**
 * Checks a change against the limits the API server would enforce, before any call to it: a request that can
 * only fail is answered at once with the field it got wrong, and never costs the API server a write.
 */
import { FactName, FactValue, type FactValue as FactValueType, MAX_FACTS, NAME_RULE } from '../api/facts.js';
import { invalid, type WriteError } from './errors.js';

/** Lone UTF-16 surrogates cannot be stored (the API server would silently turn them into U+FFFD). */
export function wellFormed(value: string): boolean {
  return value.isWellFormed();
}

export function checkFactsChange(change: {
  set?: Record<string, FactValueType>;
  remove?: readonly string[];
}): WriteError | undefined {
  const set = Object.entries(change.set ?? {});
  const remove = change.remove ?? [];
  if (set.length > MAX_FACTS)
    return invalid(`an identity holds at most ${MAX_FACTS} facts; ${set.length} were sent`, 'facts');
  if (remove.length > MAX_FACTS) return invalid(`at most ${MAX_FACTS} facts can be removed at once`, 'facts');
  for (const key of [...set.map(([k]) => k), ...remove]) {
    if (!FactName.safeParse(key).success || !wellFormed(key))
      return invalid(`invalid fact name ${JSON.stringify(key.slice(0, 80))}: ${NAME_RULE}`, key.slice(0, 80));
  }
  for (const [key, value] of set) {
    const parsed = FactValue.safeParse(value);
    if (!parsed.success)
      return invalid(`fact ${key}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`, key);
    if (typeof value === 'string' && !wellFormed(value))
      return invalid(`fact ${key}: the value is not valid Unicode (it holds a lone surrogate)`, key);
  }
  return undefined;
}

export function checkSecretValue(key: string, value: string): WriteError | undefined {
  if (!FactName.safeParse(key).success)
    return invalid(`invalid secret name ${JSON.stringify(key.slice(0, 80))}: ${NAME_RULE}`, key.slice(0, 80));
  if (!wellFormed(value))
    return invalid(`secret ${key}: the value is not valid Unicode (it holds a lone surrogate)`, key);
  return undefined;
}
