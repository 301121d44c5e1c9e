/**
 * The CustomResourceDefinitions, built from the same constants as the zod schemas. `npm run gen:crds` writes them
 * to crds/ and the Helm chart; scripts/crd-files.test.ts fails when those files drift from this module.
 */
import { FACT_NAME_PATTERN, MAX_FACT_VALUE_CHARS, MAX_FACTS, MAX_SAFE_INTEGER, NAME_RULE } from './facts.js';
import { FACTS_KIND, FACTS_PLURAL, GROUP, SECRETS_KIND, SECRETS_PLURAL, VERSION } from './group.js';
import { MAX_SECRET_ENTRIES, SECRET_KEY_PATTERN, SECRET_NAME_PATTERN } from './secrets.js';
import {
  CHANNEL_PATTERN,
  DEFAULT_INTERVAL_SECONDS,
  DEFAULT_MAX_ROWS,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_INTERVAL_SECONDS,
  MAX_QUERY_CHARS,
  MAX_ROWS_LIMIT,
  MAX_STATUS_ERRORS,
  MAX_TIMEOUT_SECONDS,
  MIN_INTERVAL_SECONDS,
  SOURCE_SHAPES,
  SOURCES_KIND,
  SOURCES_PLURAL,
} from './sources.js';

type Schema = Record<string, unknown>;

const celString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

// A fact value is a string or an integer. `x-kubernetes-int-or-string` is the one untyped value schema that CEL can
// see (as dyn), so it is what lets the API server check fact names and nulls in CEL; in exchange, booleans and
// decimals are written as strings. Each message names the offending fact, and the rules stay within the CEL cost
// budget (a messageExpression may index one key, not join them all).
const NAME_OK = (k: string) => `${k}.matches(${celString(FACT_NAME_PATTERN)})`;

const factsSchema: Schema = {
  type: 'object',
  description: `Facts about the deployment: at most ${MAX_FACTS} names, each mapped to a string (at most ${MAX_FACT_VALUE_CHARS} characters) or an integer.`,
  maxProperties: MAX_FACTS,
  additionalProperties: {
    'x-kubernetes-int-or-string': true,
    // nullable keeps a null in the request so that the rule below can reject it instead of silently pruning it.
    nullable: true,
    maxLength: MAX_FACT_VALUE_CHARS,
    'x-kubernetes-validations': [
      {
        rule: `type(self) != int || (self >= ${-MAX_SAFE_INTEGER} && self <= ${MAX_SAFE_INTEGER})`,
        message: 'must be an integer between -(2^53-1) and 2^53-1',
      },
    ],
  },
  'x-kubernetes-validations': [
    {
      rule: `self.all(k, ${NAME_OK('k')})`,
      messageExpression: `'invalid fact name ' + self.filter(k, !${NAME_OK('k')})[0] + ': ${NAME_RULE}'`,
    },
    {
      rule: 'self.all(k, type(self[k]) != null_type)',
      messageExpression: `'fact ' + self.filter(k, type(self[k]) == null_type)[0] + ' must be a string or an integer, not null'`,
    },
  ],
};

const condition: Schema = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316 },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', maxLength: 1024 },
    message: { type: 'string', maxLength: 32768 },
  },
};

const conditions: Schema = {
  type: 'array',
  items: condition,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
};

const objectName = (what: string): Schema => ({
  type: 'string',
  description: `Name of ${what}.`,
  minLength: 1,
  maxLength: 253,
  pattern: SECRET_NAME_PATTERN,
});

const secretsSpec: Schema = {
  type: 'object',
  properties: {
    secrets: {
      type: 'array',
      description: 'Named secrets, each taken from one key of a Secret in the same namespace.',
      maxItems: MAX_SECRET_ENTRIES,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
      items: {
        type: 'object',
        required: ['name', 'secretKeyRef'],
        properties: {
          name: {
            type: 'string',
            description: 'The name the secret is served under.',
            maxLength: 63,
            pattern: FACT_NAME_PATTERN,
          },
          secretKeyRef: {
            type: 'object',
            required: ['name', 'key'],
            properties: {
              name: objectName('the Secret'),
              key: { type: 'string', minLength: 1, maxLength: 253, pattern: SECRET_KEY_PATTERN },
            },
          },
        },
      },
    },
    secretsFrom: {
      type: 'array',
      description: 'Whole Secrets whose every key is imported, optionally under a prefix.',
      maxItems: 16,
      'x-kubernetes-list-type': 'atomic',
      items: {
        type: 'object',
        required: ['secretRef'],
        properties: {
          secretRef: { type: 'object', required: ['name'], properties: { name: objectName('the Secret') } },
          prefix: { type: 'string', maxLength: 32, pattern: '^[A-Za-z0-9._-]*$' },
        },
      },
    },
  },
};

const readyColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
};
const reasonColumn = {
  name: 'Reason',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
};
const ageColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

function crd(
  kind: string,
  plural: string,
  shortName: string,
  spec: Schema,
  status: Schema,
  columns: Schema[],
) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'flagops-data-store', 'app.kubernetes.io/part-of': 'flagops' },
    },
    spec: {
      group: GROUP,
      scope: 'Namespaced',
      names: {
        kind,
        listKind: `${kind}List`,
        plural,
        singular: kind.toLowerCase(),
        shortNames: [shortName],
        categories: ['flagops'],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
                status,
              },
            },
          },
        },
      ],
    },
  };
}

export const deploymentFactsCrd = crd(
  FACTS_KIND,
  FACTS_PLURAL,
  'dfacts',
  {
    type: 'object',
    description: 'Plain facts about one deployment identity.',
    properties: { facts: factsSchema },
  },
  {
    type: 'object',
    properties: {
      observedGeneration: { type: 'integer', format: 'int64' },
      conditions,
      factCount: { type: 'integer' },
    },
  },
  [readyColumn, { name: 'Facts', type: 'integer', jsonPath: '.status.factCount' }, reasonColumn, ageColumn],
);

export const deploymentSecretsCrd = crd(
  SECRETS_KIND,
  SECRETS_PLURAL,
  'dsecrets',
  {
    ...secretsSpec,
    description: 'References to the secrets of one deployment identity; values stay in Secrets.',
  },
  {
    type: 'object',
    properties: {
      observedGeneration: { type: 'integer', format: 'int64' },
      conditions,
      resolvedCount: { type: 'integer' },
      unresolvedCount: { type: 'integer' },
      keys: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic' },
    },
  },
  [
    readyColumn,
    { name: 'Resolved', type: 'integer', jsonPath: '.status.resolvedCount' },
    { name: 'Unresolved', type: 'integer', jsonPath: '.status.unresolvedCount' },
    reasonColumn,
    ageColumn,
  ],
);

const factSourceSpec: Schema = {
  type: 'object',
  description: 'Where facts come from and how often they are read; see docs/sources.md.',
  required: ['postgres'],
  properties: {
    postgres: {
      type: 'object',
      description: 'A PostgreSQL query whose rows become facts.',
      required: ['connectionSecretRef', 'query'],
      properties: {
        connectionSecretRef: {
          type: 'object',
          description:
            'A Secret in this namespace holding the connection: with `key`, that key holds a libpq connection URI or string; without it, the keys host, port, dbname (or database), user (or username), password and sslmode.',
          required: ['name'],
          properties: {
            name: objectName('the Secret'),
            key: { type: 'string', minLength: 1, maxLength: 253, pattern: SECRET_KEY_PATTERN },
          },
        },
        query: {
          type: 'string',
          description:
            'One read-only SELECT. Shape rows: columns identity, fact, value, one row per fact. Shape columns: a column identity, every other column a fact.',
          minLength: 1,
          maxLength: MAX_QUERY_CHARS,
        },
        shape: {
          type: 'string',
          description: 'rows (default): one row per identity and fact; columns: one row per identity.',
          enum: [...SOURCE_SHAPES],
        },
        listenChannel: {
          type: 'string',
          description: 'LISTEN on this channel; a NOTIFY on it triggers a sync at once.',
          pattern: CHANNEL_PATTERN,
        },
      },
    },
    intervalSeconds: {
      type: 'integer',
      description: `Seconds between polls (default ${DEFAULT_INTERVAL_SECONDS}); also the longest wait before retrying after a failure.`,
      minimum: MIN_INTERVAL_SECONDS,
      maximum: MAX_INTERVAL_SECONDS,
    },
    timeoutSeconds: {
      type: 'integer',
      description: `Connect and statement timeout in seconds (default ${DEFAULT_TIMEOUT_SECONDS}).`,
      minimum: 1,
      maximum: MAX_TIMEOUT_SECONDS,
    },
    maxRows: {
      type: 'integer',
      description: `A result with more rows fails the sync and changes nothing (default ${DEFAULT_MAX_ROWS}).`,
      minimum: 1,
      maximum: MAX_ROWS_LIMIT,
    },
    suspend: { type: 'boolean', description: 'Stop polling; the facts already written stay.' },
  },
};

export const factSourceCrd = crd(
  SOURCES_KIND,
  SOURCES_PLURAL,
  'fsrc',
  factSourceSpec,
  {
    type: 'object',
    properties: {
      observedGeneration: { type: 'integer', format: 'int64' },
      conditions,
      lastSyncTime: { type: 'string', format: 'date-time' },
      rows: { type: 'integer', description: 'Rows in the last successful result.' },
      identities: { type: 'integer', description: 'Identities in the last successful result.' },
      factsWritten: { type: 'integer', description: 'Facts this source holds on its identities.' },
      errorCount: { type: 'integer', description: 'Identities or facts that could not be written.' },
      errors: {
        type: 'array',
        description: `The first ${MAX_STATUS_ERRORS} problems of the last sync, per identity.`,
        maxItems: MAX_STATUS_ERRORS,
        'x-kubernetes-list-type': 'atomic',
        items: {
          type: 'object',
          required: ['identity', 'reason', 'message'],
          properties: {
            identity: { type: 'string', maxLength: 1024 },
            fact: { type: 'string', maxLength: 1024 },
            reason: { type: 'string', maxLength: 1024 },
            message: { type: 'string', maxLength: 4096 },
          },
        },
      },
    },
  },
  [
    readyColumn,
    { name: 'Identities', type: 'integer', jsonPath: '.status.identities' },
    { name: 'Facts', type: 'integer', jsonPath: '.status.factsWritten' },
    { name: 'Errors', type: 'integer', jsonPath: '.status.errorCount' },
    reasonColumn,
    { name: 'Last Sync', type: 'date', jsonPath: '.status.lastSyncTime' },
    ageColumn,
  ],
);

export const allCrds = [deploymentFactsCrd, deploymentSecretsCrd, factSourceCrd];
