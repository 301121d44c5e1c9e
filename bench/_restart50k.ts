import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.js';
import { factsPath } from '../src/kube/paths.js';
import { ensureBinaries, startControlPlane } from '../test/control-plane/control-plane.js';
import { installCrds } from '../test/control-plane/kubectl.js';
const N = 50000;
const cp = await startControlPlane({ binDir: await ensureBinaries() });
const pids = execFileSync('pgrep', ['-f', dirname(cp.kubeconfigPath)], { encoding: 'utf8' }).split('\n').filter(Boolean);
const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
try {
  await installCrds(cp.info());
  const kc = new KubeConfig(); kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc);
  await client.create('/api/v1/namespaces', { metadata: { name: 'm' } });
  let next = 0;
  await Promise.all(Array.from({ length: 64 }, async () => { for (let i = next++; i < N; i = next++) await client.create(factsPath('m'), { apiVersion: 'flagops.io/v1alpha1', kind: 'DeploymentFacts', metadata: { name: `customer-${i}` }, spec: { facts: { tier: i % 3 ? 'silver' : 'gold', 'max-replicas': (i % 5) + 1, cluster: `eu-${i % 4}`, owner: `team-${i % 50}`, region: 'europe-west1' } } }); }));
  console.log('populated', N);
  for (const pid of pids) spawnSync('taskset', ['-a', '-p', '-c', '1', pid], { stdio: 'ignore' });
  for (const [label, dir] of [['prefetch', '/work/main'], ['prefetch', '/work/main'], ['prefetch', '/work/main']]) {
    const port = 30000 + Math.floor(Math.random() * 20000);
    const t0 = performance.now();
    const child = spawn('taskset', ['-c', '0', process.execPath, '--max-semi-space-size=4', `${dir}/dist/main.js`, `--kubeconfig=${cp.kubeconfigPath}`, '--namespaces=m', `--listen=127.0.0.1:${port}`, '--auth=none', '--log-level=warn', '--status-qps=0.001', '--status-burst=1'], { stdio: 'ignore' });
    for (;;) { try { if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break; } catch {} await sleep(20); }
    const ready = (performance.now() - t0) / 1000;
    const a = rss(child.pid!); await sleep(10000); const b = rss(child.pid!);
    console.log(`${label}: ready (= store full) ${ready.toFixed(1)} s, RSS ${a.toFixed(0)} MB, 10 s later ${b.toFixed(0)} MB`);
    child.kill('SIGTERM'); await sleep(1500);
  }
} finally { await cp.stop(); }
