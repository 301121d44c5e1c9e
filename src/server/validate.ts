/** Request validation with zod: every failure becomes a 400 that names the field. */
import { z } from 'zod';
import { FactName, FactValue } from '../api/facts.js';
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
export const FactsPatchBody = z.record(z.string(), FactValue.nullable());
export const SecretValueBody = z.object({ value: z.string().max(1024 * 1024) }).strict();

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

/** `?force=true` (also `1`/`yes`); anything else but absent is a 400. */
export function parseBool(v: unknown, field: string): boolean {
  if (v === undefined) return false;
  if (typeof v === 'string' && ['true', '1', 'yes'].includes(v)) return true;
  if (typeof v === 'string' && ['false', '0', 'no'].includes(v)) return false;
  throw badRequest(`${field} must be true or false`, field);
}

/** If-Match carries a resourceVersion, quoted as an ETag or bare. */
export function parseIfMatch(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(?:W\/)?"?([^"]*)"?$/.exec(header.trim());
  if (!m?.[1] || !/^\d+$/.test(m[1]))
    throw badRequest('If-Match must be a resourceVersion such as "12345"', 'If-Match');
  return m[1];
}
