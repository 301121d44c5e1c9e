import { z } from 'zod';

/**
 * The limits of a DeploymentFacts spec. The CRD schema and admission policy (crds.ts) and the zod schemas below are
 * all built from these constants, so the API server and the HTTP API reject exactly the same input.
 */
export const MAX_FACTS = 256;
export const MAX_FACT_VALUE_CHARS = 4096;
/** Numbers beyond this lose precision in JSON clients (JavaScript numbers are doubles). */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
/** 1–63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit. */
export const FACT_NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$';
export const NAME_RULE =
  'a name is 1-63 letters, digits, dashes, underscores or dots, starting and ending with a letter or digit';
const factNameRegExp = new RegExp(FACT_NAME_PATTERN);

export const FactName = z.string().regex(factNameRegExp, NAME_RULE);

export const VALUE_TYPE_RULE = 'must be a string, a number or a boolean';
export const NUMBER_RULE = 'must be a number between -(2^53-1) and 2^53-1';

/**
 * A fact value is a string (at most 4096 characters), a number (an integer or a decimal, within ±(2^53-1)) or a
 * boolean. Objects, lists and nulls are refused: a fact is one value that a flag rule compares. The CRD schema
 * cannot type a free map's values, so the API server checks them with a ValidatingAdmissionPolicy built from these
 * same rules (crds.ts); this schema is the operator's own check (InvalidSpec) and the HTTP API's.
 */
export const FactValue = z.union(
  [
    z.string().max(MAX_FACT_VALUE_CHARS, `must be at most ${MAX_FACT_VALUE_CHARS} characters`),
    z.number().min(-MAX_SAFE_INTEGER, NUMBER_RULE).max(MAX_SAFE_INTEGER, NUMBER_RULE),
    z.boolean(),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? VALUE_TYPE_RULE : undefined) },
);
export type FactValue = z.infer<typeof FactValue>;

const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** How much of a bad fact name a message quotes: a name of thousands of characters would not fit a status. */
export const QUOTED_NAME_CHARS = 253;
export const quoteName = (k: string) =>
  k.length > QUOTED_NAME_CHARS ? `${k.slice(0, QUOTED_NAME_CHARS)}...` : k;

export const FactMap = z.preprocess(
  (input, ctx) => {
    // zod's record never sees an own `__proto__` key (JSON.parse makes one): it would be dropped silently, value and
    // all, instead of being refused by name as the API server's policy does.
    if (isMap(input) && Object.hasOwn(input, '__proto__'))
      ctx.addIssue({
        code: 'custom',
        path: ['__proto__'],
        message: `invalid fact name __proto__: ${NAME_RULE}`,
        input,
      });
    return input;
  },
  z.record(z.string(), FactValue).superRefine(
    (m, ctx) => {
      const keys = Object.keys(m);
      if (keys.length > MAX_FACTS)
        ctx.addIssue({ code: 'custom', message: `must hold at most ${MAX_FACTS} facts` });
      for (const k of keys) {
        if (!factNameRegExp.test(k))
          ctx.addIssue({
            code: 'custom',
            path: [k],
            message: `invalid fact name ${quoteName(k)}: ${NAME_RULE}`,
          });
      }
    },
    // Names are checked even when a value is bad, so that one status message names every problem.
    { when: (payload) => isMap(payload.value) },
  ),
);
export type FactMap = Record<string, FactValue>;

export const DeploymentFactsSpec = z.object({
  facts: FactMap.optional(),
  /** How many FactRevisions to keep (fact-revision.ts); absent: the operator's default. */
  revisionHistoryLimit: z.number().int().min(0).optional(),
});
export type DeploymentFactsSpec = z.infer<typeof DeploymentFactsSpec>;

/** Every fact as text, as JSON writes it (`true`, `0.5`, `1000000`): for consumers that only take strings. */
export function factsAsText(values: Readonly<FactMap>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in values) if (Object.hasOwn(values, k)) out[k] = String(values[k]);
  return out;
}

/**
 * The common case of `DeploymentFactsSpec.safeParse(spec)`, without zod: the facts of a spec that is plainly
 * valid — a plain object whose `facts`, if any, is a plain object of at most MAX_FACTS well-named facts, each a
 * string of at most MAX_FACT_VALUE_CHARS, a number within ±MAX_SAFE_INTEGER or a boolean. Returns the spec's own
 * facts object (valid data parses to an equal copy, so the copy is not made), or undefined for anything else,
 * which the caller must then give to zod: zod stays the authority on what is refused, and says why.
 */
export function plainlyValidFacts(spec: unknown): FactMap | undefined {
  if (typeof spec !== 'object' || spec === null || Object.getPrototypeOf(spec) !== Object.prototype) return;
  const facts = (spec as { facts?: unknown }).facts;
  if (!Object.hasOwn(spec, 'facts') || facts === undefined)
    return Object.hasOwn(spec, 'facts') ? undefined : {};
  if (typeof facts !== 'object' || facts === null || Object.getPrototypeOf(facts) !== Object.prototype)
    return;
  let count = 0;
  for (const k in facts) {
    if (!Object.hasOwn(facts, k) || ++count > MAX_FACTS || !factNameRegExp.test(k)) return;
    const v = (facts as Record<string, unknown>)[k];
    switch (typeof v) {
      case 'string':
        if (v.length > MAX_FACT_VALUE_CHARS) return;
        break;
      case 'number':
        // NaN fails both comparisons; ±Infinity is beyond the bounds.
        if (!(v >= -MAX_SAFE_INTEGER && v <= MAX_SAFE_INTEGER)) return;
        break;
      case 'boolean':
        break;
      default:
        return;
    }
  }
  // Symbol keys and non-enumerable properties are out of the common case.
  if (Object.getOwnPropertySymbols(facts).length || Object.getOwnPropertyNames(facts).length !== count)
    return;
  return facts as FactMap;
}
