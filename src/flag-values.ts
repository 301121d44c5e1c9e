/**
 * The kinds of value a flag takes, as zod schemas from the flag's string (command line or environment) to its
 * typed value. Each refusal's message says what is accepted; config.ts prefixes it with the flag's name.
 */
import { z } from 'zod';
import { isOrigin } from './server/origin.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** A value that is the string itself; empty means not set. */
export const optionalString = z.string().transform((v) => v || undefined);

/** `a, b,,c` → `['a', 'b', 'c']`. */
const splitList = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** A comma-separated list, blanks and duplicates dropped; the first item `valid` refuses names the problem. */
function list(valid: (item: string) => boolean, problem: (item: string) => string) {
  return z.string().transform((v, ctx) => {
    const items = [...new Set(splitList(v))];
    const bad = items.find((i) => !valid(i));
    if (bad === undefined) return items;
    ctx.addIssue({ code: 'custom', message: problem(bad) });
    return z.NEVER;
  });
}

const notNamespace = (v: string) => `"${v}" is not a valid namespace name`;
export const namespace = z
  .string()
  .refine((v) => DNS_LABEL.test(v), { error: (i) => notNamespace(String(i.input)) });
/** A namespace, or empty for none. */
export const optionalNamespace = z
  .string()
  .refine((v) => v === '' || DNS_LABEL.test(v), { error: (i) => notNamespace(String(i.input)) })
  .transform((v) => v || undefined);
export const namespaceList = list((n) => DNS_LABEL.test(n), notNamespace);
export const objectName = z
  .string()
  .refine((v) => OBJECT_NAME.test(v), { error: (i) => `"${String(i.input)}" is not a valid object name` });
export const stringList = z.string().transform(splitList);
export const originList = list(
  (o) => o === '*' || isOrigin(o),
  (o) => `"${o}" is not an origin such as https://app.example.com (scheme, host, optional port; no path)`,
);

/** One of a few words; `describe` is what the message says is accepted. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  describe: (v: string) => string,
) {
  return z
    .string()
    .refine((v): v is T[number] => values.includes(v), { error: (i) => describe(String(i.input)) });
}

/** A list of some of a few words, at least one. */
export function someOf<const T extends readonly [string, ...string[]]>(
  values: T,
  describe: (v: string) => string,
) {
  return z.string().transform((v, ctx) => {
    const items = [...new Set(splitList(v))];
    const bad = items.find((i) => !values.includes(i));
    if (bad === undefined && items.length > 0) return items as T[number][];
    ctx.addIssue({ code: 'custom', message: describe(bad ?? v) });
    return z.NEVER;
  });
}

export const bool = z
  .enum(['true', 'false'], { error: 'must be true or false' })
  .transform((v) => v === 'true');

/** A whole number from `min` to `max`. */
export function wholeNumber(min: number, max: number, message: string) {
  return z
    .string()
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((n) => n >= min && n <= max, message);
}

/** Any number in (0, max]. */
export function positiveNumber(max: number) {
  return z.string().transform((v, ctx) => {
    const n = Number(v);
    if (Number.isFinite(n) && n > 0 && n <= max) return n;
    ctx.addIssue({ code: 'custom', message: `"${v}" is not a number between 0 and ${max}` });
    return z.NEVER;
  });
}

/** A duration such as `500ms`, `15s` or `2m`. */
export function parseDuration(v: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(v);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as 'ms' | 's' | 'm']);
}

/** A duration longer than zero, in milliseconds. */
export const duration = z.string().transform((v, ctx) => {
  const ms = parseDuration(v);
  if (ms !== undefined && ms > 0) return ms;
  ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration such as 500ms, 15s or 2m` });
  return z.NEVER;
});

/** `host:port`; an empty host is 0.0.0.0, an IPv6 address goes in brackets. */
export const hostPort = z.string().transform((v, ctx) => {
  const m = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(v);
  const port = m ? Number(m[2]) : Number.NaN;
  if (m && port <= 65535) return { host: m[1]!.replace(/^\[|\]$/g, '') || '0.0.0.0', port };
  ctx.addIssue({ code: 'custom', message: `"${v}" is not host:port` });
  return z.NEVER;
});
