/** Reconciles one DeploymentFacts: read from the cache, decide, apply to the store, write status. */
import type { Logger } from 'pino';
import { API_VERSION, FACTS_KIND } from '../../api/group.js';
import type { DeploymentFacts } from '../../api/types.js';
import { factsPath } from '../../kube/paths.js';
import type { StoreReader, StoreWriter } from '../../store/store.js';
import type { ResourceCache } from '../cache.js';
import { splitKey } from '../cache.js';
import type { EventRecorder } from '../events.js';
import type { ReconcileResult } from '../queue.js';
import type { StatusWriter } from '../status.js';
import { decideFacts } from './decide.js';

export interface FactsReconcilerDeps {
  cache: ResourceCache<DeploymentFacts>;
  store: StoreWriter & Pick<StoreReader, 'get'>;
  status: StatusWriter;
  events: EventRecorder;
  log: Logger;
  now?: () => Date;
}

export function factsReconciler(deps: FactsReconcilerDeps) {
  const now = deps.now ?? (() => new Date());
  return async function reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    const obj = deps.cache.get(namespace, name);
    if (!obj) {
      // Gone from the cache means deleted: success, not an error.
      deps.store.deleteFacts(namespace, name);
      deps.log.debug({ kind: FACTS_KIND, namespace, name, outcome: 'deleted' }, 'reconciled');
      return {};
    }
    const decision = decideFacts(obj, now());
    const meta = {
      generation: obj.metadata.generation ?? 0,
      resourceVersion: obj.metadata.resourceVersion ?? '',
    };
    if (decision.store.op === 'set') {
      deps.store.setFacts(namespace, name, {
        values: decision.store.values,
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
    const wrote = await deps.status.write(factsPath(namespace, name), obj.status, decision.status);
    if (decision.warning && wrote) {
      await deps.events.record(
        { apiVersion: API_VERSION, kind: FACTS_KIND, metadata: obj.metadata },
        'Warning',
        decision.warning.reason,
        decision.warning.message,
      );
    }
    deps.log[wrote ? 'info' : 'debug'](
      {
        kind: FACTS_KIND,
        namespace,
        name,
        generation: obj.metadata.generation,
        resourceVersion: obj.metadata.resourceVersion,
        outcome: decision.store.op === 'set' ? 'indexed' : 'invalid',
        statusWritten: wrote,
      },
      'reconciled',
    );
    return {};
  };
}
