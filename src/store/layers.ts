/**
 * Layered facts, the pure part: which profiles select an identity, in which order they apply, the merged facts,
 * and (only when a reader asks) which layer won each fact and which it overrode. No I/O.
 *
 * Order: profiles apply in ascending priority, at equal priority by name (the one that sorts last is applied
 * last, and so wins), then ClusterFactProfile before FactProfile, then namespace; the identity's own facts go on
 * top. Every key is compared, so the order is total and the same on every replica.
 */
import type { FactMap, FactValue } from '../api/facts.js';
import type { LabelSelector, ProfileKind } from '../api/profiles.js';

export type Labels = Readonly<Record<string, string>>;

/** A valid profile as the store applies it. Frozen: identities' entries share it, and explain reads it later. */
export interface ProfileLayer {
  readonly kind: ProfileKind;
  /** Set for a FactProfile: it selects identities of this namespace only. */
  readonly namespace?: string;
  readonly name: string;
  readonly priority: number;
  readonly selector: LabelSelector;
  /** A ClusterFactProfile's: the namespaces whose identities it reaches, by their labels (absent: all). */
  readonly namespaceSelector?: LabelSelector;
  readonly facts: Readonly<FactMap>;
}

/** `Kind/name` or `Kind/namespace/name`: a profile's key, and how status and errors name it. */
export const profileKey = (p: Pick<ProfileLayer, 'kind' | 'namespace' | 'name'>): string =>
  p.namespace === undefined ? `${p.kind}/${p.name}` : `${p.kind}/${p.namespace}/${p.name}`;

/** Negative when `a` applies before `b` (so `b` wins a fact both set). */
export function compareLayers(a: ProfileLayer, b: ProfileLayer): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.kind !== b.kind) return a.kind === 'ClusterFactProfile' ? -1 : 1;
  const an = a.namespace ?? '';
  const bn = b.namespace ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** Whether a label selector picks an object with these labels ({} picks every object). */
// On every identity × profile of a profile change: no closure per call.
const hasLabel = (labels: Labels | undefined, k: string) => labels !== undefined && Object.hasOwn(labels, k);

export function selects(selector: LabelSelector, labels: Labels | undefined): boolean {
  for (const k in selector.matchLabels) {
    if (!hasLabel(labels, k) || labels![k] !== selector.matchLabels[k]) return false;
  }
  for (const r of selector.matchExpressions ?? []) {
    const present = hasLabel(labels, r.key);
    switch (r.operator) {
      case 'In':
        if (!present || !r.values?.includes(labels![r.key]!)) return false;
        break;
      case 'NotIn':
        if (present && r.values?.includes(labels![r.key]!)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
    }
  }
  return true;
}

/**
 * Whether a profile applies to an identity of `namespace` with these labels, and its namespace with those
 * (`undefined`: a namespace not seen yet, which no namespaceSelector selects).
 */
export const applies = (
  p: ProfileLayer,
  namespace: string,
  labels: Labels | undefined,
  namespaceLabels: Labels | undefined,
): boolean =>
  (p.namespace === undefined || p.namespace === namespace) &&
  selects(p.selector, labels) &&
  (p.namespaceSelector === undefined ||
    (namespaceLabels !== undefined && selects(p.namespaceSelector, namespaceLabels)));

/** The served facts: the layers in order (`layers` sorted by compareLayers), then `own` on top. */
export function mergeLayers(layers: readonly ProfileLayer[], own: Readonly<FactMap>): Readonly<FactMap> {
  if (layers.length === 0) return own;
  const out: FactMap = {};
  for (const l of layers) Object.assign(out, l.facts);
  return Object.assign(out, own);
}

export type LayerRef =
  | { kind: 'DeploymentFacts'; namespace: string; name: string }
  | { kind: ProfileKind; namespace?: string; name: string; priority: number };

export interface FactExplanation {
  value: FactValue;
  /** The layer whose value is served. */
  from: LayerRef;
  /** The lower layers that set this fact too, highest first, with the values they lost with. */
  overrode: { from: LayerRef; value: FactValue }[];
}

const refOf = (l: ProfileLayer): LayerRef =>
  l.namespace === undefined
    ? { kind: l.kind, name: l.name, priority: l.priority }
    : { kind: l.kind, namespace: l.namespace, name: l.name, priority: l.priority };

/** Per served fact, the winning layer and those it overrode. Built on request only: reads never merge. */
export function explainLayers(
  layers: readonly ProfileLayer[],
  own: Readonly<FactMap>,
  identity: { namespace: string; name: string },
): Record<string, FactExplanation> {
  const stack: { from: LayerRef; facts: Readonly<FactMap> }[] = layers.map((l) => ({
    from: refOf(l),
    facts: l.facts,
  }));
  stack.push({
    from: { kind: 'DeploymentFacts', namespace: identity.namespace, name: identity.name },
    facts: own,
  });
  const out: Record<string, FactExplanation> = {};
  for (let i = stack.length - 1; i >= 0; i--) {
    const { from, facts } = stack[i]!;
    for (const k of Object.keys(facts)) {
      const value = facts[k]!;
      const seen = out[k];
      if (seen) seen.overrode.push({ from, value });
      else out[k] = { value, from, overrode: [] };
    }
  }
  return out;
}

/**
 * Profiles of equal priority that both set a fact for this identity: pairs of profile keys with the facts they
 * share. The name decides which wins; the pair is reported on both.
 */
export function tiesOf(layers: readonly ProfileLayer[]): { a: string; b: string; facts: string[] }[] {
  const out: { a: string; b: string; facts: string[] }[] = [];
  for (let i = 0; i < layers.length; i++) {
    for (let j = i + 1; j < layers.length && layers[j]!.priority === layers[i]!.priority; j++) {
      const a = layers[i]!;
      const b = layers[j]!;
      const facts = Object.keys(a.facts).filter((k) => Object.hasOwn(b.facts, k));
      if (facts.length > 0) out.push({ a: profileKey(a), b: profileKey(b), facts });
    }
  }
  return out;
}
