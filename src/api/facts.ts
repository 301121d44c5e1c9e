import { z } from 'zod';

/**
 * The limits of a DeploymentFacts spec. The CRD schema (crds.ts) and the zod schemas below are both built from
 * these constants, so the API server and the HTTP API reject exactly the same input.
 */
export const MAX_FACTS = 256;
export const MAX_FACT_VALUE_CHARS = 4096;
/** Integers beyond this lose precision in JSON clients (JavaScript numbers are doubles). */
export const MAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;
/** 1–63 characters of letters, digits, '-', '_' and '.', starting and ending with a letter or digit. */
export const FACT_NAME_PATTERN = '^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$';
export const NAME_RULE =
  'a name is 1-63 letters, digits, dashes, underscores or dots, starting and ending with a letter or digit';
const factNameRegExp = new RegExp(FACT_NAME_PATTERN);

export const FactName = z.string().regex(factNameRegExp, NAME_RULE);

/**
 * A fact value is a string (at most 4096 characters) or a safe integer. Booleans and decimals are written as
 * strings: the API server can only check untyped map values in CEL through `x-kubernetes-int-or-string`.
 */
export const FactValue = z.union([
  z.string().max(MAX_FACT_VALUE_CHARS, `must be at most ${MAX_FACT_VALUE_CHARS} characters`),
  z.number().int('must be an integer or a string').min(-MAX_SAFE_INTEGER).max(MAX_SAFE_INTEGER),
]);
export type FactValue = z.infer<typeof FactValue>;

export const FactMap = z.record(z.string(), FactValue).superRefine((m, ctx) => {
  const keys = Object.keys(m);
  if (keys.length > MAX_FACTS)
    ctx.addIssue({ code: 'custom', message: `must hold at most ${MAX_FACTS} facts` });
  for (const k of keys) {
    if (!factNameRegExp.test(k))
      ctx.addIssue({ code: 'custom', path: [k], message: `invalid fact name ${k}: ${NAME_RULE}` });
  }
});
export type FactMap = Record<string, FactValue>;

export const DeploymentFactsSpec = z.object({
  facts: FactMap.optional(),
});
export type DeploymentFactsSpec = z.infer<typeof DeploymentFactsSpec>;
