/**
 * Turns DeploymentFacts events into store entries at once, and leaves the status each object should show to the
 * status queue. The informer keeps only a `FactsRecord` per object; the facts themselves live in the store alone.
 */
import type { DeploymentFacts } from '../../api/types.js';
import { factOwners } from '../../store/provenance.js';
import type { StoreReader, StoreWriter } from '../../store/store.js';
import { sameStatus } from '../conditions.js';
import type { StatusSync } from '../status-sync.js';
import { decideFacts } from './decide.js';

/**
 * What the informer keeps of a DeploymentFacts: its name only. The facts live in the store, and the status is
 * judged from each event's own object, so nothing else needs keeping.
 */
export interface FactsRecord {
  metadata: { name: string; namespace: string };
}

export function keepFacts(obj: DeploymentFacts): FactsRecord {
  return { metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace } };
}

export interface FactsHandlerDeps {
  store: StoreWriter & Pick<StoreReader, 'get'>;
  status: StatusSync;
  now?: () => Date;
}

export function factsHandler(deps: FactsHandlerDeps) {
  const now = deps.now ?? (() => new Date());
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
        deps.store.setFacts(namespace, name, {
          values: decision.store.values,
          ...(owners ? { owners } : {}),
          ...meta,
          ready: true,
          reason: 'Indexed',
        });
      } else {
        // Keep serving the last valid facts, but say they are not current.
        const last = deps.store.get(namespace, name)?.facts;
        if (last)
          deps.store.setFacts(namespace, name, { ...last, ...meta, ready: false, reason: 'InvalidSpec' });
      }
      const key = `${namespace}/${name}`;
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
    remove(record: FactsRecord): void {
      const { namespace, name } = record.metadata;
      deps.store.deleteFacts(namespace, name);
      deps.status.set(`${namespace}/${name}`, undefined);
    },
  };
}
