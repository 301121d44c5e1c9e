/** The FactRevision CRD's spec schema and columns; crds.ts builds the CRD from them with its facts map schema. */

import { MAX_REVISION_HISTORY_LIMIT } from './fact-revision.js';
import { FACT_NAME_PATTERN } from './facts.js';

type Schema = Record<string, unknown>;

const names: Schema = {
  type: 'array',
  items: { type: 'string', maxLength: 63, pattern: FACT_NAME_PATTERN },
  'x-kubernetes-list-type': 'atomic',
};

const PATHS = ['gitops', 'kubectl', 'api', 'webhook', 'source', 'profile', 'other'];

/** `factsSchema` is the DeploymentFacts one: a revision's facts are a spec's facts. */
export const factRevisionSpec = (factsSchema: Schema): Schema => ({
  type: 'object',
  description: 'One recorded state of an identity’s served facts. Written by the operator; read-only.',
  required: ['identity', 'revision', 'facts', 'diff', 'writers', 'recordedAt'],
  properties: {
    identity: { type: 'string', maxLength: 253, description: 'The DeploymentFacts’ name.' },
    revision: { type: 'integer', format: 'int64', minimum: 1 },
    facts: { ...factsSchema, description: 'The served facts after the change.' },
    diff: {
      type: 'object',
      properties: {
        added: names,
        changed: names,
        removed: names,
        previous: { ...factsSchema, description: 'Values before the change of changed and removed facts.' },
        previousOmitted: { type: 'boolean' },
      },
    },
    writers: {
      type: 'array',
      'x-kubernetes-list-type': 'atomic',
      maxItems: 300,
      items: {
        type: 'object',
        required: ['manager', 'path', 'by', 'facts'],
        properties: {
          manager: { type: 'string', maxLength: 512 },
          path: { type: 'string', enum: PATHS },
          by: { type: 'string', maxLength: 512 },
          at: { type: 'string', format: 'date-time' },
          facts: names,
        },
      },
    },
    recordedAt: { type: 'string', format: 'date-time' },
    resourceVersion: { type: 'string', maxLength: 64 },
    generation: { type: 'integer', format: 'int64' },
    secrets: {
      type: 'object',
      description:
        'The identity’s secrets when the facts changed: their key names and the DeploymentSecrets’ resourceVersion. Never a value.',
      required: ['names', 'resourceVersion'],
      properties: {
        names: {
          type: 'array',
          maxItems: 256,
          'x-kubernetes-list-type': 'atomic',
          items: { type: 'string', maxLength: 253 },
        },
        resourceVersion: { type: 'string', maxLength: 64 },
      },
    },
  },
});

export const factRevisionColumns: Schema[] = [
  { name: 'Identity', type: 'string', jsonPath: '.spec.identity' },
  { name: 'Revision', type: 'integer', jsonPath: '.spec.revision' },
  { name: 'Recorded', type: 'date', jsonPath: '.spec.recordedAt' },
];

/** Per identity in DeploymentFacts.spec (0 keeps none; absent: the operator's --revision-history-limit). */
export const revisionHistoryLimitSchema: Schema = {
  type: 'integer',
  description:
    "How many FactRevisions of this identity to keep (0: none); absent: the operator's --revision-history-limit.",
  minimum: 0,
  maximum: MAX_REVISION_HISTORY_LIMIT,
};
