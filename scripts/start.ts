/**
 * `npm start`: runs the operator against the current kube context; without one, starts a local control plane
 * (kube-apiserver + etcd built from their Go modules), installs the CRDs and the samples in deploy/samples/, and
 * runs the operator against it. Extra arguments are passed to the operator.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { load } from 'js-yaml';
import { ensureBinaries, startControlPlane } from '../test/control-plane/control-plane.js';
import { installCrds, kubectl } from '../test/control-plane/kubectl.js';

const args = process.argv.slice(2);

function currentContext(): string | undefined {
  if (process.env.KUBERNETES_SERVICE_HOST) return 'in-cluster';
  const files = (process.env.KUBECONFIG ?? join(homedir(), '.kube', 'config'))
    .split(delimiter)
    .filter(Boolean);
  for (const file of files) {
    if (!existsSync(file)) continue;
    const doc = load(readFileSync(file, 'utf8')) as { 'current-context'?: string } | undefined;
    if (doc?.['current-context']) return doc['current-context'];
  }
  return undefined;
}

function runOperator(operatorArgs: string[]): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...operatorArgs], {
    stdio: 'inherit',
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
}

const context = currentContext();
if (context && !args.includes('--local')) {
  console.error(`[start] using kube context "${context}" (pass --local for a local control plane instead)`);
  process.exit(await runOperator(args));
}

console.error(
  '[start] no kube context: starting a local control plane (the first run builds it from Go modules; later runs take seconds)',
);
const binDir = await ensureBinaries();
const cp = await startControlPlane({ binDir });
await installCrds(cp.info());
const samples = await kubectl(cp.info(), ['apply', '--server-side', '-k', 'deploy/samples']);
if (samples.code !== 0) console.error(`[start] applying deploy/samples failed: ${samples.stderr}`);
const listen = args.find((a) => a.startsWith('--listen='))?.slice('--listen='.length) ?? '127.0.0.1:8080';
console.error(`
[start] local control plane ready at ${cp.server}
[start] samples applied from deploy/samples/. In another terminal:

  export KUBECONFIG=${cp.kubeconfigPath}
  export PATH=${binDir}:$PATH
  kubectl get dfacts,dsecrets -A
  curl -s http://${listen}/api/v1/namespaces/default/identities/customer-42/facts

[start] the operator runs with --auth=none on loopback (local use only). Ctrl-C stops everything.
`);
const code = await runOperator([
  `--kubeconfig=${cp.kubeconfigPath}`,
  '--auth=none',
  `--listen=${listen}`,
  ...args.filter((a) => !a.startsWith('--listen=') && a !== '--local'),
]);
await cp.stop();
process.exit(code);
