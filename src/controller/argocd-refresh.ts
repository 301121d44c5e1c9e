/**
 * Argo CD caches rendered manifests by git revision, so a fact changed outside git is not seen by the next sync
 * unless the Application is hard-refreshed. With --argocd-namespace set, this asks Argo CD for a hard refresh
 * (annotation `argocd.argoproj.io/refresh: hard`) of the Application named like the identity whose facts
 * changed — the flagops plugin uses the Application name as the identity. Only the leader asks; changes seen
 * while the caches first fill are not changes, and a burst for one identity becomes one refresh.
 */
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/errors.js';
import type { StoreReader } from '../store/store.js';
import { errorSummary } from './informer.js';

export const REFRESH_ANNOTATION = 'argocd.argoproj.io/refresh';

export interface ArgoRefreshOptions {
  client: KubeClient;
  reader: StoreReader;
  /** Namespace of the Argo CD Applications. */
  namespace: string;
  log: Logger;
  /** Whether changes count yet (informers synced) and this replica may write (leader). */
  active: () => boolean;
  debounceMs?: number;
  onRefresh?: (result: 'requested' | 'no_application' | 'error') => void;
}

export function startArgoRefresh(opts: ArgoRefreshOptions): () => void {
  const timers = new Map<string, NodeJS.Timeout>();
  const path = (name: string) =>
    `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(opts.namespace)}/applications/${encodeURIComponent(name)}`;

  async function refresh(name: string) {
    try {
      await opts.client.mergePatch(path(name), {
        metadata: { annotations: { [REFRESH_ANNOTATION]: 'hard' } },
      });
      opts.log.info({ application: name, namespace: opts.namespace }, 'argo cd hard refresh requested');
      opts.onRefresh?.('requested');
    } catch (err) {
      if (err instanceof KubeApiError && err.errorClass === 'notFound') {
        opts.log.debug({ application: name }, 'no argo cd application for identity');
        opts.onRefresh?.('no_application');
        return;
      }
      opts.log.warn({ application: name, err: errorSummary(err) }, 'argo cd hard refresh failed');
      opts.onRefresh?.('error');
    }
  }

  const unsubscribe = opts.reader.onChange((e) => {
    if (e.kind !== 'facts' || !opts.active()) return;
    const existing = timers.get(e.name);
    if (existing) clearTimeout(existing);
    const t = setTimeout(() => {
      timers.delete(e.name);
      // Leadership may have moved during the debounce.
      if (opts.active()) void refresh(e.name);
    }, opts.debounceMs ?? 500);
    t.unref();
    timers.set(e.name, t);
  });
  return () => {
    unsubscribe();
    for (const t of timers.values()) clearTimeout(t);
    timers.clear();
  };
}
