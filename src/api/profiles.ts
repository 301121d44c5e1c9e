import { z } from 'zod';
import { FactMap } from './facts.js';

/**
 * FactProfile (namespaced) and ClusterFactProfile (cluster-scoped): facts shared by the DeploymentFacts a label
 * selector picks. An identity's served facts are its profiles' facts in priority order, then its own on top
 * (docs/profiles.md). The CRD schemas (crds.ts) and the zod schemas below are built from these constants.
 */
export const PROFILE_KIND = 'FactProfile';
export const PROFILE_PLURAL = 'factprofiles';
export const CLUSTER_PROFILE_KIND = 'ClusterFactProfile';
export const CLUSTER_PROFILE_PLURAL = 'clusterfactprofiles';
export type ProfileKind = typeof PROFILE_KIND | typeof CLUSTER_PROFILE_KIND;

export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 10_000;
export const DEFAULT_PRIORITY = 0;
export const MAX_MATCH_EXPRESSIONS = 16;
export const MAX_SELECTOR_VALUES = 64;
export const SELECTOR_OPERATORS = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

/** A label key: an optional DNS-subdomain prefix and '/', then a name of up to 63 characters. */
export const LABEL_KEY_PATTERN =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$';
/** A label value: empty, or up to 63 characters starting and ending with a letter or digit. */
export const LABEL_VALUE_PATTERN = '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$';
const LabelKey = z
  .string()
  .max(316)
  .regex(new RegExp(LABEL_KEY_PATTERN), 'must be a label key (an optional prefix/, then a name)');
const LabelValue = z
  .string()
  .regex(
    new RegExp(LABEL_VALUE_PATTERN),
    'must be a label value (at most 63 letters, digits, -, _ or ., starting and ending with a letter or digit)',
  );

const Requirement = z
  .object({
    key: LabelKey,
    operator: z.enum(SELECTOR_OPERATORS),
    values: z.array(LabelValue).max(MAX_SELECTOR_VALUES).optional(),
  })
  .superRefine((r, ctx) => {
    const n = r.values?.length ?? 0;
    if ((r.operator === 'In' || r.operator === 'NotIn') && n === 0)
      ctx.addIssue({ code: 'custom', path: ['values'], message: `${r.operator} needs at least one value` });
    if ((r.operator === 'Exists' || r.operator === 'DoesNotExist') && n > 0)
      ctx.addIssue({ code: 'custom', path: ['values'], message: `${r.operator} takes no values` });
  });
export type Requirement = z.infer<typeof Requirement>;

/** A Kubernetes label selector: `{}` selects every identity in reach, as elsewhere in Kubernetes. */
export const LabelSelector = z.object({
  matchLabels: z.record(LabelKey, LabelValue).optional(),
  matchExpressions: z.array(Requirement).max(MAX_MATCH_EXPRESSIONS).optional(),
});
export type LabelSelector = z.infer<typeof LabelSelector>;

export const FactProfileSpec = z.object({
  facts: FactMap.optional(),
  selector: LabelSelector,
  /** ClusterFactProfile only: the namespaces it reaches, by their labels (absent: every watched namespace). */
  namespaceSelector: LabelSelector.optional(),
  priority: z.number().int().min(MIN_PRIORITY).max(MAX_PRIORITY).optional(),
});
export type FactProfileSpec = z.infer<typeof FactProfileSpec>;
