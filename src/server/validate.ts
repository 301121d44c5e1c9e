/** Request validation with zod: every failure becomes a 400 that names the field. */
import { z } from 'zod';
import { FactName, FactValue, MAX_FACTS, NAME_RULE } from '../api/facts.js';
import { badRequest } from './errors.js';
import type { ParamSpec } from './route-spec.js';

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

/**
 * An identity on the prototype routes and in OFREP's `targetingKey`: a plain identity (the default namespace),
 * or Argo CD's name for an Application outside its own namespace, `<namespace>_<name>` (what a Config
 * Management Plugin gets as `ARGOCD_APP_NAME` with apps in any namespace). `_` occurs in neither a namespace nor
 * an object name, so the form is unambiguous; both parts are checked as such.
 */
export interface QualifiedIdentity {
  /** Undefined for a plain identity: the default namespace. */
  readonly namespace: string | undefined;
  readonly name: string;
}
export function parseQualifiedIdentity(
  v: unknown,
): { ok: true; value: QualifiedIdentity } | { ok: false; message: string } {
  if (typeof v !== 'string') return { ok: false, message: 'must be a string' };
  const at = v.indexOf('_');
  if (at === -1) {
    const r = IdentityName.safeParse(v);
    return r.success
      ? { ok: true, value: { namespace: undefined, name: v } }
      : {
          ok: false,
          message:
            'must be a DNS subdomain (lowercase letters, digits, dashes and dots), or <namespace>_<name> as Argo CD names an Application outside its own namespace',
        };
  }
  const namespace = v.slice(0, at);
  const name = v.slice(at + 1);
  if (!NamespaceName.safeParse(namespace).success)
    return { ok: false, message: `in <namespace>_<name>, the namespace must be a DNS label` };
  if (!IdentityName.safeParse(name).success)
    return {
      ok: false,
      message: `in <namespace>_<name>, the name must be a DNS subdomain (lowercase letters, digits, dashes and dots)`,
    };
  return { ok: true, value: { namespace, name } };
}
export const QualifiedIdentityName = z
  .string()
  .max(317)
  .transform((v, ctx): QualifiedIdentity => {
    const r = parseQualifiedIdentity(v);
    if (r.ok) return r.value;
    ctx.addIssue({ code: 'custom', message: r.message, input: v });
    return z.NEVER;
  });

export const FactValueBody = z.object({ value: FactValue }).strict();

/**
 * A JSON object keyed by fact names. The keys are checked as sent: zod's record silently drops a `__proto__`
 * key, which would turn `{"__proto__": …}` into an empty change instead of a 400 naming it.
 */
export function factKeyed<V extends z.ZodType>(value: V) {
  return z.preprocess(
    (input, ctx) => {
      if (input !== null && typeof input === 'object' && !Array.isArray(input)) {
        // Counted before any entry is checked: tens of thousands of facts are refused at once (an issue here stops
        // the parse before the record's entries are validated).
        const count = Object.keys(input).length;
        if (count > MAX_FACTS) {
          ctx.addIssue({
            code: 'custom',
            message: `an identity holds at most ${MAX_FACTS} facts; ${count} were sent`,
            input,
          });
          return input;
        }
        for (const key of Object.keys(input)) {
          if (!FactName.safeParse(key).success)
            ctx.addIssue({
              code: 'custom',
              path: [key.slice(0, 80)],
              message: `invalid fact name ${JSON.stringify(key.slice(0, 80))}: ${NAME_RULE}`,
              input,
            });
        }
      }
      return input;
    },
    z.record(z.string(), value),
  );
}

export const FactsPatchBody = factKeyed(FactValue.nullable());
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
  // "3", or "3.<hash>" when profiles supply facts: the precondition is on the DeploymentFacts' own generation.
  const m = /^(?:W\/)?"?(\d{1,15})(?:\.[0-9a-f]{1,64})?"?$/.exec(header.trim());
  if (!m) throw badRequest('If-Match must be an ETag from a facts read, such as "3"', 'If-Match');
  return Number(m[1]);
}

/** Path parameters, with the field names a 400 names. */
export const NS_PARAM: ParamSpec<string> = {
  schema: NamespaceName,
  field: 'namespace',
  description: 'namespace',
};
export const ID_PARAM: ParamSpec<string> = {
  schema: IdentityName,
  field: 'identity',
  description: 'identity: the name of the DeploymentFacts / DeploymentSecrets',
};
/**
 * The prototype routes' `:id`: a plain identity or Argo CD's `<namespace>_<name>`. It provides the params `ns`
 * (the default namespace for a plain identity) and `id` (the name), so permissions and the watched-namespace
 * check read exactly what `/api/v1/namespaces/:ns/identities/:id` reads.
 */
export const QUALIFIED_ID_PARAM: ParamSpec<QualifiedIdentity> = {
  schema: QualifiedIdentityName,
  field: 'identity',
  description:
    "identity: `<name>` (in the default namespace) or `<namespace>_<name>` (Argo CD's ARGOCD_APP_NAME for an Application outside its own namespace)",
  provides: ['ns', 'id'],
  expand: (v, defaultNamespace) => ({ ns: v.namespace ?? defaultNamespace, id: v.name }),
};
export const NAME_PARAM: ParamSpec<string> = {
  schema: FactName,
  field: 'name',
  description: 'fact or secret name',
};

/** `?force=true` (also `1`/`yes`; `false`, `0`, `no` mean off); anything else is a 400. Other parameters are ignored. */
export const WriteQuery = z.object({
  force: z
    .enum(['true', '1', 'yes', 'false', '0', 'no'], { error: 'must be true or false' })
    .optional()
    .describe('take over a key owned by another field manager')
    .transform((v) => v === 'true' || v === '1' || v === 'yes'),
});
export type WriteQuery = z.output<typeof WriteQuery>;

export const ExplainQuery = z
  .object({
    explain: z
      .enum(['true', '1', 'yes', 'false', '0', 'no'], { error: 'must be true or false' })
      .optional()
      .describe('per fact, the layer it is served from and the profiles it overrode (docs/profiles.md)')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  })
  .strict();
export type ExplainQuery = z.output<typeof ExplainQuery>;

export const IF_NONE_MATCH_HEADER = {
  name: 'If-None-Match',
  in: 'header',
  schema: { type: 'string' },
  description: 'an ETag of an earlier answer: 304 while it still holds',
};

/** Whether an If-None-Match header names `etag` (weakly compared, as RFC 9110 says for If-None-Match), or is `*`. */
export const etagMatches = (inm: string | undefined, etag: string) =>
  inm?.split(',').some((t) => t.trim() === etag || t.trim() === `W/${etag}` || t.trim() === '*') ?? false;

export const IF_MATCH_HEADER = {
  name: 'If-Match',
  in: 'header',
  schema: { type: 'string' },
  description: "the ETag of a facts read (the object's generation) that must still hold",
};
