/**
 * What the GitOps journeys (argocd-journey.ts, flux-push.ts) share: a control plane with the operator, a fact
 * PUT, watches that timestamp each event, and percentiles.
 */
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { KubeConfig, Watch } from '@kubernetes/client-node';
import { parseConfig } from '../../src/config.js';
import { KubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/logger.js';
import { startOperator } from '../../src/operator.js';
import {
  type ControlPlane,
  ensureBinaries,
  startControlPlane,
} from '../../test/control-plane/control-plane.js';
import { installCrds } from '../../test/control-plane/kubectl.js';

export interface Journey {
  cp: ControlPlane;
  kc: KubeConfig;
  client: KubeClient;
  /** The operator's base URL. */
  url: string;
  /** Run in reverse by `stop`: register what to undo as it is set up. */
  stops: (() => unknown)[];
  /** PUTs one fact of `namespace/identity` as the admin; throws unless 200. */
  put(namespace: string, identity: string, fact: string, value: string | number): Promise<void>;
  /**
   * Watches `path` for objects matching `fieldSelector`, calling `onEvent` as each arrives; a watch that ends is
   * resumed from its last resourceVersion (client-node ends one after 30 s without events), a 410 lists afresh.
   */
  // biome-ignore lint/suspicious/noExplicitAny: watch events are plain JSON
  follow(path: string, fieldSelector: string, onEvent: (obj: any) => void): Promise<void>;
  stop(): Promise<void>;
}

/** A control plane with the CRDs, `namespace` and the operator (auth on, `args` added), silent. */
export async function startJourney(namespace: string, args: string[]): Promise<Journey> {
  const cp = await startControlPlane({ binDir: await ensureBinaries() });
  const stops: (() => unknown)[] = [];
  let following = true;
  const stop = async () => {
    following = false; // no watch restarts while aborting
    for (const s of stops.reverse()) await s();
    await cp.stop();
  };
  try {
    await installCrds(cp.info());
    const kc = new KubeConfig();
    kc.loadFromFile(cp.kubeconfigPath);
    const client = new KubeClient(kc);
    await client.create('/api/v1/namespaces', { metadata: { name: namespace } });
    const parsed = parseConfig(
      [`--namespaces=${namespace}`, '--listen=127.0.0.1:0', '--auth=kubernetes', '--log-level=warn', ...args],
      {},
    );
    if (!('config' in parsed)) throw new Error(`bad config: ${JSON.stringify(parsed)}`);
    const op = await startOperator(
      parsed.config,
      createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })),
      kc,
    );
    stops.push(() => op.stop());
    const put: Journey['put'] = async (ns, id, fact, value) => {
      const res = await fetch(`${op.url}/api/v1/namespaces/${ns}/identities/${id}/facts/${fact}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${cp.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ value }),
      });
      if (res.status !== 200) throw new Error(`PUT ${fact}: HTTP ${res.status} ${await res.text()}`);
    };
    const follow: Journey['follow'] = async (path, fieldSelector, onEvent) => {
      const watch = new Watch(kc);
      let resourceVersion: string | undefined;
      let current: AbortController | undefined;
      stops.push(() => current?.abort());
      const start = async (): Promise<void> => {
        current = await watch.watch(
          path,
          { fieldSelector, ...(resourceVersion ? { resourceVersion } : {}) },
          (type, obj) => {
            if (type === 'ERROR') {
              resourceVersion = undefined; // 410 Gone: list afresh (an ADDED event for the current state)
              return;
            }
            resourceVersion = obj.metadata?.resourceVersion;
            if (type !== 'BOOKMARK') onEvent(obj);
          },
          () => {
            if (following) setTimeout(() => void start(), 10);
          },
        );
      };
      await start();
    };
    return { cp, kc, client, url: op.url, stops, put, follow, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Polls `check` every few ms until it holds; `onTimeout` says what was seen. */
export async function waitUntil(
  check: () => boolean,
  timeoutMs: number,
  onTimeout: () => string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out: ${onTimeout()}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The p-th percentile (nearest rank) of the numbers that are not NaN. */
export const pct = (xs: number[], p: number) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
export const fmtMs = (ms: number) =>
  Number.isNaN(ms) ? '   n/a' : `${Math.round(ms).toString().padStart(5)} ms`;
