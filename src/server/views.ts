/** JSON shapes of identities as the API returns them: fact values, secret key names, readiness. Never secret values. */
import { explainLayers } from '../store/layers.js';
import { describeProvenance } from '../store/provenance.js';
import type { Identity } from '../store/store.js';

export function identitySummary(i: Identity) {
  return {
    namespace: i.namespace,
    name: i.name,
    factCount: i.facts ? Object.keys(i.facts.values).length : 0,
    secretKeys: i.secrets ? [...i.secrets.values.keys()].sort() : [],
    ready: (i.facts?.ready ?? true) && (i.secrets?.ready ?? true),
    revision: i.revision,
  };
}

/** Per served fact: the layer that won and those it overrode (computed now, from the entry's frozen layers). */
export function explainFacts(i: Identity) {
  if (!i.facts) return {};
  return explainLayers(i.facts.layers ?? [], i.facts.own ?? i.facts.values, i);
}

export function identityDetail(i: Identity, opts: { explain?: boolean } = {}) {
  return {
    namespace: i.namespace,
    name: i.name,
    facts: i.facts?.values ?? {},
    /** Per fact: the field manager, the path (gitops, kubectl, api, webhook, source, other), who and when. */
    provenance: describeProvenance(i.facts?.owners),
    ...(opts.explain ? { explain: explainFacts(i) } : {}),
    secretKeys: i.secrets ? [...i.secrets.values.keys()].sort() : [],
    status: {
      facts: i.facts
        ? {
            ready: i.facts.ready,
            reason: i.facts.reason,
            generation: i.facts.generation,
            resourceVersion: i.facts.resourceVersion,
          }
        : null,
      secrets: i.secrets
        ? {
            ready: i.secrets.ready,
            reason: i.secrets.reason,
            unresolved: i.secrets.unresolved,
            generation: i.secrets.generation,
            resourceVersion: i.secrets.resourceVersion,
          }
        : null,
    },
    revision: i.revision,
  };
}
