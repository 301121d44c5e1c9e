import { z } from 'zod';
import { SECRET_KEY_PATTERN, SECRET_NAME_PATTERN } from './secrets.js';

/**
 * FactSource: facts read from where they live (a PostgreSQL query, for now) and applied to the identities'
 * DeploymentFacts under a field manager of the source's own. The CRD schema (crds.ts) and the zod schema below
 * are built from these constants.
 */
export const SOURCES_KIND = 'FactSource';
export const SOURCES_PLURAL = 'factsources';

/** How query rows map to facts. */
export const SOURCE_SHAPES = ['rows', 'columns'] as const;
export type SourceShape = (typeof SOURCE_SHAPES)[number];

export const MIN_INTERVAL_SECONDS = 1;
export const MAX_INTERVAL_SECONDS = 86_400;
export const DEFAULT_INTERVAL_SECONDS = 60;
export const MAX_TIMEOUT_SECONDS = 300;
export const DEFAULT_TIMEOUT_SECONDS = 10;
export const MAX_ROWS_LIMIT = 100_000;
export const DEFAULT_MAX_ROWS = 10_000;
export const MAX_QUERY_CHARS = 65_536;
/** Bytes of a query result the operator reads before it gives up (--source-max-result-bytes). */
export const DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024;
/** A PostgreSQL identifier: what `LISTEN` accepts unquoted, lower case. */
export const CHANNEL_PATTERN = '^[a-z_][a-z0-9_$]{0,62}$';
/** At most this many per-identity problems are listed in status (the count is always exact). */
export const MAX_STATUS_ERRORS = 20;

export const PostgresSourceSpec = z.object({
  /** A Secret in the FactSource's namespace with the connection: one key holding a DSN, or separate fields. */
  connectionSecretRef: z.object({
    name: z.string().min(1).max(253).regex(new RegExp(SECRET_NAME_PATTERN), 'must be a DNS subdomain'),
    key: z.string().min(1).max(253).regex(new RegExp(SECRET_KEY_PATTERN)).optional(),
  }),
  query: z.string().min(1).max(MAX_QUERY_CHARS),
  shape: z.enum(SOURCE_SHAPES).optional(),
  listenChannel: z.string().regex(new RegExp(CHANNEL_PATTERN)).optional(),
});
export type PostgresSourceSpec = z.infer<typeof PostgresSourceSpec>;

export const FactSourceSpec = z.object({
  postgres: PostgresSourceSpec,
  intervalSeconds: z.number().int().min(MIN_INTERVAL_SECONDS).max(MAX_INTERVAL_SECONDS).optional(),
  timeoutSeconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).optional(),
  maxRows: z.number().int().min(1).max(MAX_ROWS_LIMIT).optional(),
  suspend: z.boolean().optional(),
});
export type FactSourceSpec = z.infer<typeof FactSourceSpec>;
