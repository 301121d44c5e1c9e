/**
 * Each identity's served facts serialized once per change, so that a read is a lookup and a write: the JSON body
 * and its ETag, kept beside the immutable store entries they were made from (a WeakMap, so they go with them).
 * The store replaces an entry on every change, so a cached body can never be stale.
 */
import { createHash } from 'node:crypto';
import { factsAsText } from '../api/facts.js';
import { profileKey } from './layers.js';
import type { FactsEntry, Identity } from './store.js';

/** The content type the bodies are sent with, as Fastify sends JSON it serialises itself. */
export const JSON_UTF8 = 'application/json; charset=utf-8';

export interface Serialized {
  /** The body, as sent. */
  readonly body: string;
  /** A strong ETag, quoted. */
  readonly etag: string;
}

const facts = new WeakMap<FactsEntry, Serialized>();
const prototype = new WeakMap<Identity, Serialized>();

const shortHash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 20);

/**
 * `GET …/identities/{id}/facts`: the served facts as JSON, and an ETag `"<generation>.<hash>"`: the generation is
 * what `If-Match` on writes compares; the hash names the served values, so the ETag moves when a profile changes
 * them while the generation stays, and when an identity is deleted and created again at generation 1 with other
 * facts (a bare generation would answer such a client 304 with the old facts).
 */
export function servedFacts(entry: FactsEntry): Serialized {
  let s = facts.get(entry);
  if (!s) {
    const body = JSON.stringify(entry.values);
    s = { body, etag: `"${entry.generation}.${shortHash(body).slice(0, 12)}"` };
    facts.set(entry, s);
  }
  return s;
}

/**
 * The prototype's `GET /api/fact/{id}`: values as strings, and an ETag of this replica's store revision (as the
 * prototype's provider caches it).
 */
export function prototypeFacts(
  epoch: string,
  identity: Identity | undefined,
  namespace: string,
  name: string,
): Serialized {
  if (identity) {
    const cached = prototype.get(identity);
    if (cached) return cached;
  }
  const s = {
    body: JSON.stringify(factsAsText(identity?.facts?.values ?? {})),
    etag: `"${shortHash(`proto/${epoch}/${namespace}/${name}@${identity?.revision ?? 0}`)}"`,
  };
  if (identity) prototype.set(identity, s);
  return s;
}

const layerOfFact = new WeakMap<FactsEntry, Readonly<Record<string, string>>>();
// Null prototypes: a fact may be named `toString` or `constructor`.
const NO_LAYERS: Readonly<Record<string, string>> = Object.freeze(Object.create(null));

/**
 * Per served fact that a profile supplies (not the identity itself): that profile's key, `ClusterFactProfile/gold`
 * or `FactProfile/<namespace>/<name>`. OFREP names it in each flag's metadata. Made once per entry.
 */
export function profileOfFacts(entry: FactsEntry): Readonly<Record<string, string>> {
  if (!entry.layers || entry.layers.length === 0) return NO_LAYERS;
  let m = layerOfFact.get(entry);
  if (!m) {
    const out: Record<string, string> = Object.create(null);
    for (const l of entry.layers) for (const k of Object.keys(l.facts)) out[k] = profileKey(l);
    for (const k of Object.keys(entry.own ?? {})) delete out[k];
    m = Object.freeze(out);
    layerOfFact.set(entry, m);
  }
  return m;
}
