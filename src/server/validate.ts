/** Request validation with zod: every failure becomes a 400 that names the field. */
import { z } from 'zod';
import { FactName, FactValue, MAX_FACTS, NAME_RULE } from '../api/facts.js';
import { badRequest } from './errors.js';

export const NamespaceName = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS label (lowercase letters, digits and dashes)');
export const IdentityName = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a DNS subdomain (lowercase letters, digits, dashes and dots)',
  );

export const FactValueBody = z.object({ value: FactValue }).strict();
/** The fact count is checked before any entry: a body of tens of thousands of facts is refused at once. */
export const FactsPatchBody = z
  .unknown()
  .check((ctx) => {
    const v = ctx.value;
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > MAX_FACTS) {
      ctx.issues.push({
        code: 'custom',
        input: v,
        message: `an identity holds at most ${MAX_FACTS} facts; ${Object.keys(v).length} were sent`,
      });
    }
  })
  .pipe(z.record(z.string(), FactValue.nullable()));
/** A Secret holds at most 1 MiB in all; one value may take half of it. */
export const MAX_SECRET_VALUE_BYTES = 512 * 1024;
export const SecretValueBody = z
  .object({
    value: z
      .string()
      .refine(
        (v) => Buffer.byteLength(v, 'utf8') <= MAX_SECRET_VALUE_BYTES,
        `must be at most ${MAX_SECRET_VALUE_BYTES} bytes`,
      ),
  })
  .strict();

export function parse<T>(schema: z.ZodType<T>, input: unknown, field: string): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = [field, ...issue.path.map(String)].filter(Boolean).join('.');
  throw badRequest(`${path}: ${issue.message}`, path);
}

export const parseNamespace = (v: unknown) => parse(NamespaceName, v, 'namespace');
export const parseIdentity = (v: unknown) => parse(IdentityName, v, 'identity');
export const parseFactName = (v: unknown) => parse(FactName, v, 'name');

/** A fact name used as a key of a request body. */
export function parseFactKey(key: string, field = 'body'): string {
  if (!FactName.safeParse(key).success)
    throw badRequest(
      `invalid fact name ${JSON.stringify(key.slice(0, 80))}: ${NAME_RULE}`,
      `${field}.${key.slice(0, 80)}`,
    );
  return key;
}

/**
 * If-Match carries the ETag of a facts read: the object's metadata.generation, which moves with every change of
 * the facts but not with the operator's status writes (which move resourceVersion and would make every
 * If-Match stale a moment after a write).
 */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const m = /^(?:W\/)?"?(\d{1,15})"?$/.exec(header.trim());
  if (!m) throw badRequest('If-Match must be an ETag from a facts read, such as "3"', 'If-Match');
  return Number(m[1]);
}

/** `?force=true` (also `1`/`yes`); anything else but absent is a 400. */
export function parseBool(v: unknown, field: string): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string' && ['true', '1', 'yes'].includes(v)) return true;
  if (typeof v === 'string' && ['false', '0', 'no'].includes(v)) return false;
  throw badRequest(`${field} must be true or false`, field);
}
