/**
 * Turns DeploymentFacts events into store entries at once, and leaves the status each object should show to the
 * status queue. The informer keeps only a `FactsRecord` per object; the facts themselves live in the store alone.
 */

import type { FactMap } from '../../api/facts.js';
import type { DeploymentFacts } from '../../api/types.js';
import { Interner, objectKeyOf } from '../../store/intern.js';
import { LayeredFacts } from '../../store/layered-facts.js';
import { factOwners } from '../../store/provenance.js';
import type { StoreReader, StoreWriter } from '../../store/store.js';
import { splitKey } from '../cache.js';
import { sameStatus } from '../conditions.js';
import type { StatusSync } from '../status-sync.js';
import { decideFacts } from './decide.js';

/**
 * What the informer keeps of a DeploymentFacts: its key (`namespace/name`, the string the informer already holds as
 * its map key), so nothing at all per object. The facts live in the store, and the status is judged from each
 * event's own object, so nothing else needs keeping.
 */
export type FactsRecord = string;

export function keepFacts(_obj: DeploymentFacts, key: string): FactsRecord {
  return key;
}

/** Fact values repeat across identities (a region, a tier, a cluster): one string each, bounded. */
const factValues = new Interner(10_000, 64);

function internValues(values: FactMap): FactMap {
  for (const k in values) {
    const v = values[k];
    // Same type, same key: the object keeps its shape.
    if (typeof v === 'string') values[k] = factValues.intern(v);
  }
  return values;
}

export interface FactsHandlerDeps {
  store: StoreWriter & Pick<StoreReader, 'get'>;
  status: StatusSync;
  /** Where the identity's own facts go to be merged with its profiles; default: a view with no profiles. */
  layers?: LayeredFacts;
  now?: () => Date;
}

export function factsHandler(deps: FactsHandlerDeps) {
  const now = deps.now ?? (() => new Date());
  const layers = deps.layers ?? new LayeredFacts(deps.store);
  return {
    upsert(obj: DeploymentFacts): void {
      const { namespace, name } = obj.metadata;
      const decision = decideFacts(obj, now());
      const meta = {
        generation: obj.metadata.generation ?? 0,
        resourceVersion: obj.metadata.resourceVersion ?? '',
      };
      if (decision.store.op === 'set') {
        const owners = factOwners(
          obj.metadata.managedFields,
          obj.metadata.annotations,
          Object.keys(decision.store.values),
        );
        layers.setOwn(namespace, name, obj.metadata.labels, {
          values: internValues(decision.store.values),
          owners,
          generation: meta.generation,
          resourceVersion: meta.resourceVersion,
          ready: true,
          reason: 'Indexed',
        });
      } else {
        // Keep serving the last valid facts, but say they are not current.
        const last = deps.store.get(namespace, name)?.facts;
        if (last)
          layers.setOwn(namespace, name, obj.metadata.labels, {
            values: last.own ?? last.values,
            owners: last.owners,
            ...meta,
            ready: false,
            reason: 'InvalidSpec',
          });
      }
      const key = objectKeyOf(namespace, name);
      deps.status.set(
        key,
        sameStatus(obj.status ?? {}, decision.status)
          ? undefined
          : {
              uid: obj.metadata.uid,
              resourceVersion: obj.metadata.resourceVersion,
              current: obj.status,
              desired: decision.status,
              warning: decision.warning,
            },
      );
    },
    remove(key: FactsRecord): void {
      const { namespace, name } = splitKey(key);
      layers.deleteOwn(namespace, name);
      deps.status.set(key, undefined);
    },
  };
}
