/**
 * Authorises each request with a SubjectAccessReview, so that the cluster's RBAC decides who may read what.
 * Answers are cached for a few seconds per user and attribute set.
 *
 * A permission on one named object is first asked without the name: RBAC allows a request without a name only
 * through a rule that covers every name (a rule with `resourceNames` never matches it), so a "yes" there holds for
 * every identity of the namespace. A caller allowed namespace-wide thus costs one cached review however many
 * identities it reads; per-name reviews happen only where the namespace-wide answer is no.
 */
import { GROUP } from '../../api/group.js';
import type { KubeClient } from '../../kube/client.js';
import { KubeApiError } from '../../kube/errors.js';
import { unavailable } from '../errors.js';
import { STALE_GRACE_MS, type User } from './authenticator.js';
import { InFlight, TtlCache } from './ttl-cache.js';

export interface Permission {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';
  resource: 'deploymentfacts' | 'deploymentsecrets';
  subresource?: 'values';
  /** Empty: cluster-wide. */
  namespace?: string;
  name?: string;
}

/** `get deploymentsecrets/values in ns "apps"`: how a missing permission is named in a 403. */
export function describePermission(p: Permission): string {
  const res = `${p.resource}${p.subresource ? `/${p.subresource}` : ''}.${GROUP}`;
  return `${p.verb} ${res}${p.name ? ` "${p.name}"` : ''} ${p.namespace ? `in namespace "${p.namespace}"` : 'cluster-wide'}`;
}

export interface Authorizer {
  allowed(user: User, p: Permission): Promise<boolean>;
}

export interface AuthorizerHooks {
  /** Called for each SubjectAccessReview sent, with its answer (for metrics and tests). */
  onReview?(result: 'allowed' | 'denied' | 'error', scope: 'namespace' | 'name' | 'cluster'): void;
}

export class SubjectAccessReviewAuthorizer implements Authorizer {
  readonly #cache: TtlCache<boolean>;
  readonly #inflight = new InFlight<boolean>(32);

  constructor(
    private readonly client: KubeClient,
    private readonly ttlMs = 5_000,
    now?: () => number,
    private readonly hooks: AuthorizerHooks = {},
  ) {
    this.#cache = new TtlCache(20_000, now);
  }

  async allowed(user: User, p: Permission): Promise<boolean> {
    if (p.name !== undefined && p.namespace) {
      const { name: _name, ...namespaceWide } = p;
      if (await this.#allowed(user, namespaceWide)) return true;
    }
    return this.#allowed(user, p);
  }

  async #allowed(user: User, p: Permission): Promise<boolean> {
    // Everything the SubjectAccessReview is asked about is in the key, extra included (scoped tokens differ there).
    const key = `${userKey(user)}|${p.verb}|${p.resource}|${p.subresource ?? ''}|${p.namespace ?? ''}|${p.name ?? ''}`;
    const cached = this.#cache.get(key);
    if (cached !== undefined) return cached;
    return this.#inflight.run(key, () => this.#review(user, p, key));
  }

  async #review(user: User, p: Permission, key: string): Promise<boolean> {
    let allowed: boolean;
    try {
      const review = await this.client.create<{ status?: { allowed?: boolean } }>(
        '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            groups: user.groups,
            ...(user.uid ? { uid: user.uid } : {}),
            ...(user.extra ? { extra: user.extra } : {}),
            resourceAttributes: {
              group: GROUP,
              resource: p.resource,
              verb: p.verb,
              ...(p.subresource ? { subresource: p.subresource } : {}),
              ...(p.namespace ? { namespace: p.namespace } : {}),
              ...(p.name ? { name: p.name } : {}),
            },
          },
        },
      );
      allowed = review.status?.allowed === true;
      this.hooks.onReview?.(allowed ? 'allowed' : 'denied', scopeOf(p));
    } catch (err) {
      this.hooks.onReview?.('error', scopeOf(p));
      const outage =
        !(err instanceof KubeApiError) || ['transient', 'tooManyRequests'].includes(err.errorClass);
      const stale = outage ? this.#cache.stale(key, STALE_GRACE_MS) : undefined;
      if (stale !== undefined) return stale;
      throw unavailable('cannot check permissions: the Kubernetes API server is unavailable', 5, err);
    }
    this.#cache.set(key, allowed, this.ttlMs);
    return allowed;
  }
}

/**
 * The user part of a cache key, computed once per User object: the authenticator hands out the same object for
 * a token while its answer is cached, so the hot path pays a WeakMap lookup, not a serialisation.
 */
const userKeys = new WeakMap<User, string>();
function userKey(user: User): string {
  let key = userKeys.get(user);
  if (key === undefined) {
    const extra = user.extra ? Object.entries(user.extra).sort(([a], [b]) => a.localeCompare(b)) : [];
    key = JSON.stringify([user.username, user.uid, user.groups, extra]);
    userKeys.set(user, key);
  }
  return key;
}

const scopeOf = (p: Permission) => (p.name ? 'name' : p.namespace ? 'namespace' : 'cluster');

/** --auth=none: every request is allowed. Only ever listens on loopback (see config.ts). */
export const allowAll: Authorizer = { allowed: async () => true };
