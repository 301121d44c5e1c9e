/**
 * Argo CD caches rendered manifests by git revision, so a fact changed outside git is not seen by the next sync
 * unless the Application is hard-refreshed. With --argocd-namespace set, this asks Argo CD for a hard refresh
 * (annotation `argocd.argoproj.io/refresh: hard`) of the Applications that follow the identity whose facts
 * changed:
 *
 * - `name` mapping (default): the Application named like the identity in the Argo CD namespace — the flagops
 *   plugin uses the Application name as the identity — and, for an identity in one of
 *   --argocd-application-namespaces, the Application of that name in that namespace: Argo CD names it
 *   `<namespace>_<name>` (`ARGOCD_APP_NAME`, the `argocd.argoproj.io/instance` label), which the API reads as
 *   identity `<name>` in `<namespace>`;
 * - `annotation` mapping: every Application, in the Argo CD namespace or in --argocd-application-namespaces,
 *   annotated `flagops.io/identity: <namespace>/<name>` (or Argo CD's instance form `<namespace>_<name>`). An
 *   annotated Application follows that identity only, even when the `name` mapping is on too.
 * - `tracking` mapping: the Application that deployed the identity's DeploymentFacts (GitOps-managed fact
 *   manifests), by Argo CD's own resource tracking on that object, confirmed by the Application's own
 *   `status.resources` (whoever may edit the DeploymentFacts writes its tracking): the annotation
 *   `argocd.argoproj.io/tracking-id: <app>:flagops.io/DeploymentFacts:<namespace>/<name>` (annotation tracking,
 *   Argo CD 3's default), else the label `app.kubernetes.io/instance` or `argocd.argoproj.io/instance` (label
 *   tracking). `<app>` is `<name>` in the Argo CD namespace or `<namespace>_<name>` in one of
 *   --argocd-application-namespaces; a tracking-id copied from another object (its resource part names another
 *   one) is ignored, as Argo CD ignores it.
 *
 * Only the leader asks; changes seen while the caches first fill are not changes, and a burst for one identity
 * becomes one refresh (trailing debounce per identity). Identities whose debounce ends together are handled as
 * one batch: one metadata-only list of Applications per namespace, whatever the batch size.
 */
import type { Logger } from 'pino';
import { FACTS_KIND, GROUP } from '../api/group.js';
import type { KubeClient } from '../kube/client.js';
import { errorSummary, KubeApiError } from '../kube/errors.js';
import { factsPath } from '../kube/paths.js';
import type { StoreReader } from '../store/store.js';
import type { LeaderOnly } from './leader.js';

export const REFRESH_ANNOTATION = 'argocd.argoproj.io/refresh';
export const IDENTITY_ANNOTATION = 'flagops.io/identity';

export const TRACKING_ID_ANNOTATION = 'argocd.argoproj.io/tracking-id';
/** Argo CD's default tracking label, and the key many installs configure instead. */
export const TRACKING_LABELS = ['app.kubernetes.io/instance', 'argocd.argoproj.io/instance'] as const;

export type ApplicationMapping = 'name' | 'annotation' | 'tracking';
export const APPLICATION_MAPPINGS: readonly ApplicationMapping[] = ['name', 'annotation', 'tracking'];

export interface IdentityRef {
  readonly namespace: string;
  readonly name: string;
}
/** What the annotation mapping needs of an Application: its metadata only. */
export interface ApplicationMeta {
  readonly namespace: string;
  readonly name: string;
  readonly annotations?: Readonly<Record<string, string>>;
}
export type RefreshResult = 'requested' | 'no_application' | 'error';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const OBJECT_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * `<namespace>/<name>`, or Argo CD's instance form `<namespace>_<name>` (how Argo CD names an Application outside
 * its own namespace) → the identity; undefined when the value is not exactly one of those.
 */
export function parseIdentityAnnotation(value: string): IdentityRef | undefined {
  const v = value.trim();
  const parts = v.includes('/') ? v.split('/') : v.split('_');
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts as [string, string];
  return DNS_LABEL.test(namespace) && OBJECT_NAME.test(name) ? { namespace, name } : undefined;
}

/**
 * The Application that tracks the DeploymentFacts `identity` (Argo CD's resource tracking on its metadata), or
 * undefined. Pure. Only Applications where Argo CD may have them count: its namespace, or an application namespace.
 */
export function trackingApplication(
  identity: IdentityRef,
  meta: { labels?: Readonly<Record<string, string>>; annotations?: Readonly<Record<string, string>> },
  opts: { argocdNamespace: string; applicationNamespaces?: readonly string[] },
): IdentityRef | undefined {
  let app: string | undefined;
  const id = meta.annotations?.[TRACKING_ID_ANNOTATION];
  if (id !== undefined) {
    // <app>:<group>/<kind>:<namespace>/<name>; the resource part must be this very object.
    const parts = id.split(':');
    if (
      parts.length === 3 &&
      parts[1] === `${GROUP}/${FACTS_KIND}` &&
      parts[2] === `${identity.namespace}/${identity.name}`
    )
      app = parts[0];
  } else {
    for (const l of TRACKING_LABELS) {
      app ??= meta.labels?.[l];
    }
  }
  if (!app) return undefined;
  const at = app.indexOf('_');
  if (at < 0) return OBJECT_NAME.test(app) ? { namespace: opts.argocdNamespace, name: app } : undefined;
  const ref = parseIdentityAnnotation(app);
  return ref && opts.applicationNamespaces?.includes(ref.namespace) ? ref : undefined;
}

/** An entry of an Application's `status.resources`: what Argo CD says it manages. */
export interface ManagedResource {
  group?: string;
  kind?: string;
  namespace?: string;
  name?: string;
}

/** Whether an Application's status lists the identity's DeploymentFacts among the resources it manages. Pure. */
export function managesFacts(
  resources: readonly ManagedResource[] | undefined,
  identity: IdentityRef,
): boolean {
  return (resources ?? []).some(
    (r) =>
      r.group === GROUP &&
      r.kind === FACTS_KIND &&
      r.namespace === identity.namespace &&
      r.name === identity.name,
  );
}

/**
 * The Applications that follow `identity`. Pure. `listed` holds every Application of the Argo CD namespace and
 * of the application namespaces (undefined when the annotation mapping is off or the list failed). With it, a
 * same-name Application that is annotated is left to the annotation mapping, and one that does not exist is
 * not returned.
 */
export function applicationsFor(
  identity: IdentityRef,
  opts: {
    mapping: readonly ApplicationMapping[];
    argocdNamespace: string;
    applicationNamespaces?: readonly string[];
  },
  listed: readonly ApplicationMeta[] | undefined,
): IdentityRef[] {
  const out = new Map<string, IdentityRef>();
  const add = (a: IdentityRef) =>
    out.set(`${a.namespace}/${a.name}`, { namespace: a.namespace, name: a.name });
  const follows = (a: ApplicationMeta) => {
    const v = a.annotations?.[IDENTITY_ANNOTATION];
    return v === undefined ? undefined : parseIdentityAnnotation(v);
  };
  if (opts.mapping.includes('name')) {
    // The Application named like the identity in Argo CD's namespace, and the one in the identity's own namespace
    // when Argo CD has apps there (its ARGOCD_APP_NAME `<namespace>_<name>` is this identity).
    const homes = [opts.argocdNamespace];
    if (
      identity.namespace !== opts.argocdNamespace &&
      opts.applicationNamespaces?.includes(identity.namespace)
    )
      homes.push(identity.namespace);
    for (const ns of homes) {
      if (!listed) {
        // Not listed: whether it exists is found out by the patch (404 → no_application).
        add({ namespace: ns, name: identity.name });
      } else {
        const same = listed.find((a) => a.namespace === ns && a.name === identity.name);
        // An annotation naming another identity (or malformed) takes the Application out of the name mapping.
        if (same && same.annotations?.[IDENTITY_ANNOTATION] === undefined) add(same);
      }
    }
  }
  if (opts.mapping.includes('annotation')) {
    for (const a of listed ?? []) {
      const f = follows(a);
      if (f && f.namespace === identity.namespace && f.name === identity.name) add(a);
    }
  }
  return [...out.values()];
}

export interface ArgoRefreshOptions {
  client: KubeClient;
  reader: StoreReader;
  /** Namespace of Argo CD (and of its Applications, for the `name` mapping). */
  namespace: string;
  /** Default: `['name']`. */
  mapping?: readonly ApplicationMapping[];
  /** More namespaces searched for annotated Applications (Argo CD's apps in any namespace). */
  applicationNamespaces?: readonly string[];
  log: Logger;
  debounceMs?: number;
  onRefresh?: (result: RefreshResult) => void;
}

const PATCH_CONCURRENCY = 4;
const LIST_PAGE = 500;
/** Application metadata only: annotations are all the mapping reads, and status can be large. */
const METADATA_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';
const METADATA_ONLY_OBJECT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json';

/**
 * Changes count only while leading: the elector switches it with `setLeading`, and only once the store has synced
 * (changes seen while the caches first fill are not changes).
 */
export function startArgoRefresh(opts: ArgoRefreshOptions): LeaderOnly & { stop(): void } {
  const mapping = opts.mapping ?? ['name'];
  const listNamespaces = [...new Set([opts.namespace, ...(opts.applicationNamespaces ?? [])])];
  const timers = new Map<string, NodeJS.Timeout>();
  const ready = new Map<string, IdentityRef>();
  let flushing = false;
  let stopped = false;
  let leading = false;
  const appsPath = (ns: string) =>
    `/apis/argoproj.io/v1alpha1/namespaces/${encodeURIComponent(ns)}/applications`;

  async function listApplications(): Promise<ApplicationMeta[]> {
    const out: ApplicationMeta[] = [];
    for (const ns of listNamespaces) {
      let cont: string | undefined;
      do {
        const page = await opts.client.get<{
          items?: { metadata: { name: string; namespace?: string; annotations?: Record<string, string> } }[];
          metadata?: { continue?: string };
        }>(appsPath(ns), { query: { limit: LIST_PAGE, continue: cont }, headers: { accept: METADATA_ONLY } });
        for (const item of page.items ?? []) {
          out.push({
            namespace: item.metadata.namespace ?? ns,
            name: item.metadata.name,
            annotations: item.metadata.annotations,
          });
        }
        cont = page.metadata?.continue || undefined;
      } while (cont);
    }
    return out;
  }

  async function patch(app: IdentityRef, identity: IdentityRef, viaName: boolean): Promise<RefreshResult> {
    try {
      await opts.client.mergePatch(`${appsPath(app.namespace)}/${encodeURIComponent(app.name)}`, {
        metadata: { annotations: { [REFRESH_ANNOTATION]: 'hard' } },
      });
      opts.log.info(
        {
          application: app.name,
          applicationNamespace: app.namespace,
          namespace: identity.namespace,
          name: identity.name,
        },
        'argo cd hard refresh requested',
      );
      return 'requested';
    } catch (err) {
      if (viaName && err instanceof KubeApiError && err.errorClass === 'notFound') {
        opts.log.debug(
          { namespace: identity.namespace, name: identity.name },
          'no argo cd application for identity',
        );
        return 'no_application';
      }
      opts.log.warn(
        { application: app.name, applicationNamespace: app.namespace, err: errorSummary(err) },
        'argo cd hard refresh failed',
      );
      return 'error';
    }
  }

  /** The Application tracking the identity's DeploymentFacts: one metadata-only GET (the store keeps no labels). */
  async function trackedBy(identity: IdentityRef): Promise<IdentityRef | undefined> {
    try {
      const o = await opts.client.get<{
        metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
      }>(factsPath(identity.namespace, identity.name), { headers: { accept: METADATA_ONLY_OBJECT } });
      const app = trackingApplication(identity, o.metadata, {
        argocdNamespace: opts.namespace,
        applicationNamespaces: opts.applicationNamespaces,
      });
      if (!app) return undefined;
      // Whoever may edit the DeploymentFacts writes its tracking: refresh the Application only if it says, itself,
      // that it manages this object (its status.resources), so that nobody can aim refreshes at another team's.
      const a = await opts.client.get<{ status?: { resources?: ManagedResource[] } }>(
        `${appsPath(app.namespace)}/${encodeURIComponent(app.name)}`,
      );
      return managesFacts(a.status?.resources, identity) ? app : undefined;
    } catch (err) {
      if (!(err instanceof KubeApiError && err.errorClass === 'notFound'))
        opts.log.warn(
          { namespace: identity.namespace, name: identity.name, err: errorSummary(err) },
          'deploymentfacts tracking read failed',
        );
      return undefined;
    }
  }

  async function refreshBatch(batch: IdentityRef[]): Promise<void> {
    let listed: ApplicationMeta[] | undefined;
    if (mapping.includes('annotation')) {
      try {
        listed = await listApplications();
      } catch (err) {
        // The name mapping still works without the list; annotated Applications wait for the next change.
        opts.log.warn(
          { err: errorSummary(err), identities: batch.length },
          'argo cd application list failed',
        );
        opts.onRefresh?.('error');
      }
    }
    const jobs: { app: IdentityRef; identity: IdentityRef; mayBeMissing: boolean }[] = [];
    // The tracking lookups (two GETs each) a few at a time, as the patches are.
    const trackedOf = new Map<IdentityRef, IdentityRef | undefined>();
    if (mapping.includes('tracking')) {
      for (let i = 0; i < batch.length; i += PATCH_CONCURRENCY) {
        const chunk = batch.slice(i, i + PATCH_CONCURRENCY);
        const found = await Promise.all(chunk.map((identity) => trackedBy(identity)));
        for (const [k, identity] of chunk.entries()) trackedOf.set(identity, found[k]);
      }
    }
    for (const identity of batch) {
      const apps = applicationsFor(
        identity,
        { mapping, argocdNamespace: opts.namespace, applicationNamespaces: opts.applicationNamespaces },
        listed,
      );
      // The tracked Application may be gone by the time of the patch: a 404 then means no Application.
      let tracked = trackedOf.get(identity);
      if (tracked && apps.some((a) => a.namespace === tracked!.namespace && a.name === tracked!.name))
        tracked = undefined;
      if (tracked) jobs.push({ app: tracked, identity, mayBeMissing: true });
      if (apps.length === 0 && !tracked) {
        opts.log.debug(
          { namespace: identity.namespace, name: identity.name },
          'no argo cd application for identity',
        );
        opts.onRefresh?.('no_application');
      }
      for (const app of apps) jobs.push({ app, identity, mayBeMissing: listed === undefined });
    }
    // A few patches at a time: a large batch neither floods the API server nor runs one by one. Without a list,
    // a missing Application shows as a 404 on the patch.
    for (let i = 0; i < jobs.length; i += PATCH_CONCURRENCY) {
      const results = await Promise.all(
        jobs.slice(i, i + PATCH_CONCURRENCY).map((j) => patch(j.app, j.identity, j.mayBeMissing)),
      );
      for (const r of results) opts.onRefresh?.(r);
    }
  }

  async function flush(): Promise<void> {
    if (flushing) return; // the running flush takes what is ready when it loops
    flushing = true;
    try {
      while (ready.size > 0 && !stopped) {
        const batch = [...ready.values()];
        ready.clear();
        // Leadership may have moved during the debounce.
        if (leading) await refreshBatch(batch);
      }
    } finally {
      flushing = false;
    }
    if (ready.size > 0 && !stopped) void flush();
  }

  const unsubscribe = opts.reader.onChange((e) => {
    if (e.kind !== 'facts' || !leading) return;
    const key = `${e.namespace}/${e.name}`;
    const existing = timers.get(key);
    if (existing) clearTimeout(existing);
    const t = setTimeout(() => {
      timers.delete(key);
      ready.set(key, { namespace: e.namespace, name: e.name });
      void flush();
    }, opts.debounceMs ?? 500);
    t.unref();
    timers.set(key, t);
  });
  return {
    setLeading(l: boolean) {
      leading = l;
    },
    stop() {
      stopped = true;
      unsubscribe();
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      ready.clear();
    },
  };
}
