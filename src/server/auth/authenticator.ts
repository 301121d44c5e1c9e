/**
 * Authenticates bearer tokens with the Kubernetes TokenReview API, caching answers briefly by a hash of the
 * token (the token itself is never kept or logged). A request without a token is the anonymous user, which RBAC
 * may or may not allow.
 */
import { createHash } from 'node:crypto';
import type { KubeClient } from '../../kube/client.js';
import { KubeApiError } from '../../kube/errors.js';
import { unauthorized, unavailable } from '../errors.js';
import { InFlight, TtlCache } from './ttl-cache.js';

export interface User {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
  anonymous: boolean;
}

export const ANONYMOUS: User = {
  username: 'system:anonymous',
  groups: ['system:unauthenticated'],
  anonymous: true,
};

/** How long a last-known answer may stand in while the API server cannot be asked. */
export const STALE_GRACE_MS = 5 * 60_000;

export interface Authenticator {
  authenticate(token: string | undefined): Promise<User>;
}

interface TokenReviewStatus {
  authenticated?: boolean;
  audiences?: string[];
  user?: { username?: string; uid?: string; groups?: string[]; extra?: Record<string, string[]> };
  error?: string;
}

export class TokenReviewAuthenticator implements Authenticator {
  readonly #cache: TtlCache<User | null>;

  constructor(
    private readonly client: KubeClient,
    private readonly audiences: readonly string[] = [],
    opts: { ttlMs?: number; invalidTtlMs?: number; now?: () => number } = {},
  ) {
    this.#cache = new TtlCache(10_000, opts.now);
    this.ttlMs = opts.ttlMs ?? 10_000;
    this.invalidTtlMs = opts.invalidTtlMs ?? 2_000;
  }
  private readonly ttlMs: number;
  private readonly invalidTtlMs: number;
  readonly #inflight = new InFlight<User>(32);

  async authenticate(token: string | undefined): Promise<User> {
    if (!token) return ANONYMOUS;
    const key = createHash('sha256').update(token).digest('hex');
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      if (cached === null) throw unauthorized('the bearer token is invalid or expired');
      return cached;
    }
    return this.#inflight.run(key, () => this.#review(token, key));
  }

  async #review(token: string, key: string): Promise<User> {
    let status: TokenReviewStatus | undefined;
    try {
      const review = await this.client.create<{ status?: TokenReviewStatus }>(
        '/apis/authentication.k8s.io/v1/tokenreviews',
        {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, ...(this.audiences.length ? { audiences: this.audiences } : {}) },
        },
      );
      status = review.status;
    } catch (err) {
      // Outage: a token that was valid a moment ago stays valid for the grace period (never a refused one).
      const outage =
        !(err instanceof KubeApiError) || ['transient', 'tooManyRequests'].includes(err.errorClass);
      const stale = outage ? this.#cache.stale(key, STALE_GRACE_MS) : undefined;
      if (stale) return stale;
      throw unavailable(
        outage
          ? 'cannot verify the token: the Kubernetes API server is unavailable'
          : 'cannot verify the token',
        5,
        err,
      );
    }
    // With audiences configured, the token must have been issued for one of them (an authenticator that ignores
    // audiences would otherwise accept a token meant for something else).
    const audienceOk =
      this.audiences.length === 0 || (status?.audiences ?? []).some((a) => this.audiences.includes(a));
    if (!status?.authenticated || !status.user?.username || !audienceOk) {
      this.#cache.set(key, null, this.invalidTtlMs);
      throw unauthorized('the bearer token is invalid or expired');
    }
    const user: User = {
      username: status.user.username,
      groups: status.user.groups ?? [],
      anonymous: false,
      ...(status.user.uid ? { uid: status.user.uid } : {}),
      ...(status.user.extra ? { extra: status.user.extra } : {}),
    };
    this.#cache.set(key, user, this.ttlMs);
    return user;
  }
}
