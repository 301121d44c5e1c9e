/**
 * The CustomResourceDefinitions, built from the same constants as the zod schemas. `npm run gen:crds` writes them
 * to crds/ and the Helm chart; scripts/crd-files.test.ts fails when those files drift from this module.
 */

import { REVISION_KIND, REVISION_PLURAL } from './fact-revision.js';
import { factRevisionColumns, factRevisionSpec, revisionHistoryLimitSchema } from './fact-revision-crd.js';
import {
  FACT_NAME_PATTERN,
  MAX_FACT_VALUE_CHARS,
  MAX_FACTS,
  MAX_SAFE_INTEGER,
  NAME_RULE,
  NUMBER_RULE,
  QUOTED_NAME_CHARS,
  VALUE_TYPE_RULE,
} from './facts.js';
import { FACTS_KIND, FACTS_PLURAL, GROUP, SECRETS_KIND, SECRETS_PLURAL, VERSION } from './group.js';
import {
  CLUSTER_PROFILE_KIND,
  CLUSTER_PROFILE_PLURAL,
  DEFAULT_PRIORITY,
  LABEL_KEY_PATTERN,
  LABEL_VALUE_PATTERN,
  MAX_MATCH_EXPRESSIONS,
  MAX_PRIORITY,
  MAX_SELECTOR_VALUES,
  MIN_PRIORITY,
  PROFILE_KIND,
  PROFILE_PLURAL,
  SELECTOR_OPERATORS,
} from './profiles.js';
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
// The size check first: it is cheap, and spares the regex a name of thousands of characters (256 of them exceed the
// CEL cost budget, and the policy would then fail with a cost error that names no fact).
const NAME_OK = (k: string) => `size(${k}) <= 63 && ${k}.matches(${celString(FACT_NAME_PATTERN)})`;
/** A fact name as a message quotes it: at most QUOTED_NAME_CHARS (a messageExpression result over 5000 is dropped). */
const quoted = (k: string) =>
  `(size(${k}) > ${QUOTED_NAME_CHARS} ? ${k}.substring(0, ${QUOTED_NAME_CHARS}) + '...' : ${k})`;

// A fact value is a string, a number or a boolean. A structural schema cannot say that of a free map's values (no
// union types; `x-kubernetes-int-or-string` is the only mixed one, and it refuses booleans and decimals), so the
// values are left untyped here and the API server checks them with the ValidatingAdmissionPolicy below: CEL in a
// policy sees untyped values as dyn, while CEL in a CRD cannot see them at all. The CRD keeps what a schema can say.
const factsSchema: Schema = {
  type: 'object',
  description: `Facts about the deployment: at most ${MAX_FACTS} names, each mapped to a string (at most ${MAX_FACT_VALUE_CHARS} characters), a number or a boolean.`,
  maxProperties: MAX_FACTS,
  additionalProperties: {
    'x-kubernetes-preserve-unknown-fields': true,
    // nullable keeps a null in the request so that the policy can refuse it by name instead of it being pruned.
    nullable: true,
    maxLength: MAX_FACT_VALUE_CHARS,
  },
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
  scope: 'Namespaced' | 'Cluster' = 'Namespaced',
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
      scope,
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
    properties: { facts: factsSchema, revisionHistoryLimit: revisionHistoryLimitSchema },
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

const labelSelector: Schema = {
  type: 'object',
  description:
    'Which DeploymentFacts this profile applies to, by their labels; {} selects all of them (in the namespace, for a FactProfile).',
  properties: {
    matchLabels: {
      type: 'object',
      maxProperties: 64,
      additionalProperties: { type: 'string', maxLength: 63, pattern: LABEL_VALUE_PATTERN },
    },
    matchExpressions: {
      type: 'array',
      maxItems: MAX_MATCH_EXPRESSIONS,
      'x-kubernetes-list-type': 'atomic',
      items: {
        type: 'object',
        required: ['key', 'operator'],
        properties: {
          key: { type: 'string', maxLength: 316, pattern: LABEL_KEY_PATTERN },
          operator: { type: 'string', enum: [...SELECTOR_OPERATORS] },
          values: {
            type: 'array',
            maxItems: MAX_SELECTOR_VALUES,
            'x-kubernetes-list-type': 'atomic',
            items: { type: 'string', maxLength: 63, pattern: LABEL_VALUE_PATTERN },
          },
        },
      },
    },
  },
};

const profileSpec = (scope: string, clusterScoped: boolean): Schema => ({
  type: 'object',
  description: `Facts shared by the DeploymentFacts the selector picks ${scope}; an identity's own facts win over them (docs/profiles.md).`,
  required: ['selector'],
  properties: {
    facts: factsSchema,
    selector: labelSelector,
    ...(clusterScoped
      ? {
          namespaceSelector: {
            ...labelSelector,
            description:
              'Which namespaces this profile reaches, by their labels; absent: every namespace the operator watches. Both selectors must match.',
          },
        }
      : {}),
    priority: {
      type: 'integer',
      description: `Profiles apply in ascending priority, so a higher one wins a fact both set (default ${DEFAULT_PRIORITY}); at equal priority the name that sorts last wins, and both report PriorityConflict.`,
      minimum: MIN_PRIORITY,
      maximum: MAX_PRIORITY,
    },
  },
});

const profileStatus: Schema = {
  type: 'object',
  properties: {
    observedGeneration: { type: 'integer', format: 'int64' },
    conditions,
    selectedCount: { type: 'integer', description: 'Identities the selector picks.' },
    conflictCount: {
      type: 'integer',
      description: 'Profiles of the same priority that set some of the same facts.',
    },
    conflicts: {
      type: 'array',
      maxItems: 16,
      'x-kubernetes-list-type': 'atomic',
      items: {
        type: 'object',
        required: ['kind', 'name', 'facts'],
        properties: {
          kind: { type: 'string', maxLength: 64 },
          namespace: { type: 'string', maxLength: 253 },
          name: { type: 'string', maxLength: 253 },
          facts: {
            type: 'array',
            maxItems: 16,
            items: { type: 'string', maxLength: 63 },
            'x-kubernetes-list-type': 'atomic',
          },
        },
      },
    },
  },
};

const profileColumns: Schema[] = [
  readyColumn,
  { name: 'Priority', type: 'integer', jsonPath: '.spec.priority' },
  { name: 'Selected', type: 'integer', jsonPath: '.status.selectedCount' },
  { name: 'Conflicts', type: 'integer', jsonPath: '.status.conflictCount' },
  reasonColumn,
  ageColumn,
];

export const factProfileCrd = crd(
  PROFILE_KIND,
  PROFILE_PLURAL,
  'fprof',
  profileSpec('in its namespace', false),
  profileStatus,
  profileColumns,
);

export const clusterFactProfileCrd = crd(
  CLUSTER_PROFILE_KIND,
  CLUSTER_PROFILE_PLURAL,
  'cfprof',
  profileSpec('in every namespace (or those the namespaceSelector picks)', true),
  profileStatus,
  profileColumns,
  'Cluster',
);

/** Immutable records, written by the operator only: no status subresource. */
export const factRevisionCrd = (() => {
  const made = crd(
    REVISION_KIND,
    REVISION_PLURAL,
    'frev',
    factRevisionSpec(factsSchema),
    {},
    factRevisionColumns,
  );
  const { subresources: _none, ...version } = made.spec.versions[0]!;
  const { status: _status, ...properties } = version.schema.openAPIV3Schema.properties;
  const schema = { openAPIV3Schema: { ...version.schema.openAPIV3Schema, properties } };
  return { ...made, spec: { ...made.spec, versions: [{ ...version, schema }] } };
})();

export const allCrds = [
  deploymentFactsCrd,
  deploymentSecretsCrd,
  factSourceCrd,
  factProfileCrd,
  clusterFactProfileCrd,
  factRevisionCrd,
];

// The API server's check of fact names and values. Each message names the offending fact (a messageExpression may
// index one key, not join them all). Objects whose facts did not change are let through, as the API server ratchets
// CRD validation: a DeploymentFacts created before the policy existed can still have its labels or finalizers
// edited, and the operator reports it InvalidSpec until its facts are fixed.
const FACTS = 'variables.facts';
const V = `${FACTS}[k]`;
const VALUE_OK = `type(${V}) == string || type(${V}) == bool || type(${V}) == int || type(${V}) == double`;
const MAX_INT = MAX_SAFE_INTEGER;
const NUMBER_OK =
  `(type(${V}) != int || (${V} >= ${-MAX_INT} && ${V} <= ${MAX_INT})) && ` +
  `(type(${V}) != double || (${V} >= ${-MAX_INT}.0 && ${V} <= ${MAX_INT}.0))`;
const kindOf = (v: string) =>
  `type(${v}) == map ? 'an object' : type(${v}) == list ? 'a list' : type(${v}) == null_type ? 'null' : 'of another type'`;
const factsOf = (o: string) => `has(${o}.spec) && has(${o}.spec.facts) ? ${o}.spec.facts : {}`;
/** The names of the facts that break a rule (the first one names the problem). */
const failing = (ok: string) => `${FACTS}.filter(k, !(${ok}))`;

export const FACTS_POLICY_NAME = `${FACTS_PLURAL}.${GROUP}`;

export const deploymentFactsPolicy = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicy',
  metadata: { name: FACTS_POLICY_NAME },
  spec: {
    failurePolicy: 'Fail',
    // matchConstraints is atomic: spelling out the API server's defaults lets several managers (kubectl, Helm,
    // Argo CD) apply the same policy server-side without a conflict.
    matchConstraints: {
      matchPolicy: 'Equivalent',
      namespaceSelector: {},
      objectSelector: {},
      resourceRules: [
        {
          apiGroups: [GROUP],
          apiVersions: ['*'],
          operations: ['CREATE', 'UPDATE'],
          // Profiles carry facts of the same kind, checked by the same rules.
          resources: [FACTS_PLURAL, PROFILE_PLURAL, CLUSTER_PROFILE_PLURAL],
          scope: '*',
        },
      ],
    },
    matchConditions: [
      {
        name: 'facts-changed',
        expression: `request.operation == 'CREATE' || (${factsOf('object')}) != (${factsOf('oldObject')})`,
      },
    ],
    variables: [
      { name: 'facts', expression: factsOf('object') },
      { name: 'badNames', expression: failing(NAME_OK('k')) },
      { name: 'badTypes', expression: failing(VALUE_OK) },
      { name: 'badNumbers', expression: failing(NUMBER_OK) },
    ],
    validations: [
      {
        expression: 'size(variables.badNames) == 0',
        messageExpression: `'spec.facts: invalid fact name ' + ${quoted('variables.badNames[0]')} + ': ${NAME_RULE}'`,
        reason: 'Invalid',
      },
      {
        expression: 'size(variables.badTypes) == 0',
        messageExpression: `'spec.facts.' + ${quoted('variables.badTypes[0]')} + ' ${VALUE_TYPE_RULE}, not ' + (${kindOf(`${FACTS}[variables.badTypes[0]]`)})`,
        reason: 'Invalid',
      },
      {
        expression: 'size(variables.badNumbers) == 0',
        messageExpression: `'spec.facts.' + ${quoted('variables.badNumbers[0]')} + ' ${NUMBER_RULE}'`,
        reason: 'Invalid',
      },
    ],
  },
};

export const deploymentFactsPolicyBinding = {
  apiVersion: 'admissionregistration.k8s.io/v1',
  kind: 'ValidatingAdmissionPolicyBinding',
  metadata: { name: FACTS_POLICY_NAME },
  spec: { policyName: FACTS_POLICY_NAME, validationActions: ['Deny'] },
};
