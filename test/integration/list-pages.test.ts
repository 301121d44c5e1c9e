/**
 * List pages whose size follows the objects' size, against the real API server: the limit changes from one page to
 * the next of the same list (continue tokens do not bind it), and every object arrives once.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { DeploymentFacts } from '../../src/api/types.js';
import { ResourceCache } from '../../src/controller/cache.js';
import { KubeClient, type RequestOptions } from '../../src/kube/client.js';
import { factsPath } from '../../src/kube/paths.js';
import { adminClient, adminKubeConfig, newNamespace } from '../support/cluster.js';

class CountingClient extends KubeClient {
  readonly limits: number[] = [];
  override get<T>(path: string, opts?: RequestOptions) {
    if (opts?.query?.limit !== undefined) this.limits.push(Number(opts.query.limit));
    return super.get<T>(path, opts);
  }
}

describe('list pages', () => {
  it('lists every object once while the page limit follows their size', async () => {
    const admin = adminClient();
    const ns = await newNamespace('pages', admin);
    const N = 240;
    for (let start = 0; start < N; start += 40) {
      await Promise.all(
        Array.from({ length: Math.min(40, N - start) }, (_, j) => {
          const i = start + j;
          // Objects grow along the list: from a few hundred characters to several thousand.
          const facts = Object.fromEntries(
            Array.from({ length: 1 + Math.floor(i / 40) }, (_, k) => [`f${k}`, 'x'.repeat(1000)]),
          );
          return admin.create(factsPath(ns), {
            apiVersion: 'flagops.io/v1alpha1',
            kind: 'DeploymentFacts',
            metadata: { name: `id-${String(i).padStart(4, '0')}`, namespace: ns },
            spec: { facts },
          });
        }),
      );
    }
    const client = new CountingClient(adminKubeConfig());
    const seen: string[] = [];
    const cache = new ResourceCache<DeploymentFacts, string>({
      client,
      resource: 'deploymentfacts',
      path: (n) => factsPath(n),
      namespaces: [ns],
      log: pino({ level: 'silent' }),
      keep: (_o, key) => key,
      pageSize: 2000,
      pageChars: 60_000,
    });
    cache.on('add', (key) => seen.push(key));
    await cache.start();
    await cache.stop();
    expect(seen.length).toBe(N);
    expect(new Set(seen).size).toBe(N);
    expect(cache.list(ns).length).toBe(N);
    // The first page asks for 100; later pages for what fits 60,000 characters, fewer as the objects grow.
    expect(client.limits[0]).toBe(100);
    expect(client.limits.length).toBeGreaterThan(3);
    expect(client.limits.at(-1)!).toBeLessThan(client.limits[1]!);
  });
});
