/**
 * Reconcile throughput against a real control plane: create N DeploymentFacts, and measure how long until all
 * are in the store and until every status reports the current generation. Prints figures; asserts nothing.
 */
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../src/config.js';
import { KubeClient } from '../src/kube/client.js';
import { factsPath } from '../src/kube/paths.js';
import { createLogger } from '../src/logger.js';
import { startOperator } from '../src/operator.js';
import { ensureBinaries, startControlPlane } from '../test/control-plane/control-plane.js';
import { installCrds } from '../test/control-plane/kubectl.js';

const N = Number(process.env.BENCH_OBJECTS ?? 1000);
const cp = await startControlPlane({ binDir: await ensureBinaries() });
try {
  await installCrds(cp.info());
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc);
  await client.create('/api/v1/namespaces', { metadata: { name: 'bench' } });
  const parsed = parseConfig(
    ['--namespaces=bench', '--listen=127.0.0.1:0', '--auth=none', '--log-level=warn'],
    {},
  );
  if (!('config' in parsed)) throw new Error('bad config');
  const op = await startOperator(
    parsed.config,
    createLogger('warn', new Writable({ write: (_c, _e, cb) => cb() })),
    kc,
  );

  const started = performance.now();
  const inFlight = 32;
  for (let i = 0; i < N; i += inFlight) {
    await Promise.all(
      Array.from({ length: Math.min(inFlight, N - i) }, (_, j) =>
        client.create(factsPath('bench'), {
          apiVersion: 'flagops.io/v1alpha1',
          kind: 'DeploymentFacts',
          metadata: { name: `obj-${i + j}` },
          spec: { facts: { tier: 'gold', n: i + j } },
        }),
      ),
    );
  }
  const created = performance.now();
  while (op.store.size < N) await new Promise((r) => setTimeout(r, 10));
  const indexed = performance.now();
  for (;;) {
    const list = await client.get<{
      items: { metadata: { generation: number }; status?: { observedGeneration?: number } }[];
    }>(factsPath('bench'));
    if (list.items.every((o) => o.status?.observedGeneration === o.metadata.generation)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const statused = performance.now();
  console.log(
    `reconcile: ${N} DeploymentFacts created in ${((created - started) / 1000).toFixed(2)} s (${inFlight} in flight)`,
  );
  console.log(
    `reconcile: all ${N} in the store ${((indexed - started) / 1000).toFixed(2)} s after the first create`,
  );
  console.log(
    `reconcile: all ${N} statuses current ${((statused - started) / 1000).toFixed(2)} s after the first create (${Math.round(N / ((statused - started) / 1000))} objects/s end to end)`,
  );
  await op.stop();
} finally {
  await cp.stop();
}
