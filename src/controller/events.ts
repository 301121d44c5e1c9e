/**
 * Records core/v1 Events on objects. Messages carry names and counts only, never secret values. Only the leader
 * records, and a reconciler records only when a condition changes, so a stuck object does not flood the API.
 */

import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import { errorSummary } from '../kube/errors.js';
import { corePath } from '../kube/paths.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid?: string; resourceVersion?: string };
}

export interface EventRecorder {
  record(target: EventTarget, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
}

export const COMPONENT = 'flagops-data-store';

export class KubeEventRecorder implements EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly reportingInstance: string,
    /**
     * Where the Events of cluster-scoped objects (ClusterFactProfiles) go: an Event lives in a namespace, and
     * `kubectl describe` of a cluster-scoped object finds it in any. The operator's own namespace, where its RBAC
     * grants Events whatever it watches.
     */
    private readonly clusterScopedNamespace = 'default',
  ) {}

  async record(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    const { name, namespace, uid, resourceVersion } = target.metadata;
    const eventNamespace = namespace || this.clusterScopedNamespace;
    try {
      await this.client.create(corePath('events', eventNamespace), {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${name}.`, namespace: eventNamespace },
        involvedObject: {
          apiVersion: target.apiVersion,
          kind: target.kind,
          name,
          ...(namespace ? { namespace } : {}),
          uid,
          resourceVersion,
        },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: COMPONENT },
        reportingComponent: COMPONENT,
        reportingInstance: this.reportingInstance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (err) {
      // An Event is best effort: failing to record one must not fail the reconcile.
      this.log.warn(
        { kind: target.kind, namespace, name, reason, err: errorSummary(err) },
        'event not recorded',
      );
    }
  }
}
