/**
 * Runs each OpenFeature provider's own suite with its ecosystem's usual command, against a running operator on
 * a real control plane: `npm test` (providers/js), `go test ./...` (providers/go), `pytest` (providers/python,
 * through run-tests.sh). Writes the counts to .test-results/providers.json for scripts/test.mjs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { parseConfig } from '../src/config.js';
import { KubeClient } from '../src/kube/client.js';
import { createLogger } from '../src/logger.js';
import { startOperator } from '../src/operator.js';
import { ensureBinaries, startControlPlane } from '../test/control-plane/control-plane.js';
import { installCrds, kubectl } from '../test/control-plane/kubectl.js';

interface Counts {
  suite: string;
  passed: number;
  failed: number;
  skipped: number;
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    console.log(`\n=== ${cwd}: ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const tee = (d: Buffer) => {
      out += String(d);
      process.stdout.write(d);
    };
    child.stdout.on('data', tee);
    child.stderr.on('data', tee);
    child.on('exit', (code) => resolve({ code: code ?? 1, out }));
  });
}

const count = (re: RegExp, text: string) => [...text.matchAll(re)].length;

/** Counts from a Vitest JSON report; a missing report or a failed run with no failed test counts as one failure. */
function vitestCounts(suite: string, file: string, code: number): Counts {
  if (!existsSync(file)) return { suite, passed: 0, failed: 1, skipped: 0 };
  const v = JSON.parse(readFileSync(file, 'utf8'));
  const failed = v.numFailedTests as number;
  return {
    suite,
    passed: v.numPassedTests,
    failed: failed + (code !== 0 && failed === 0 ? 1 : 0),
    skipped: v.numPendingTests,
  };
}
const num = (re: RegExp, text: string) => Number(re.exec(text)?.[1] ?? 0);

const binDir = await ensureBinaries();
const cp = await startControlPlane({ binDir });
const results: Counts[] = [];
try {
  await installCrds(cp.info());
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfigPath);
  const client = new KubeClient(kc);
  const ns = 'providers';
  await client.create('/api/v1/namespaces', { metadata: { name: ns } });
  await client.create(`/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: 'app' } });
  await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/roles`, {
    metadata: { name: 'app' },
    rules: [
      { apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['get', 'list', 'watch', 'patch'] },
    ],
  });
  await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${ns}/rolebindings`, {
    metadata: { name: 'app' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'app' },
    subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: ns }],
  });
  const token = (
    await kubectl(cp.info(), ['create', 'token', 'app', '-n', ns, '--duration=2h'])
  ).stdout.trim();
  const parsed = parseConfig([`--namespaces=${ns}`, '--listen=127.0.0.1:0', '--log-level=warn'], {});
  if (!('config' in parsed)) throw new Error('bad config');
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const op = await startOperator(parsed.config, createLogger('warn', sink), kc);
  const env = { FLAGOPS_TEST_URL: op.url, FLAGOPS_TEST_TOKEN: token, FLAGOPS_TEST_NAMESPACE: ns };

  // JavaScript: npm ci in its own folder, then its own `npm test` (vitest; counted from its JSON report).
  await run('npm', ['ci', '--no-audit', '--no-fund'], 'providers/js', {});
  rmSync('.test-results/providers-js.json', { force: true });
  const js = await run(
    'npm',
    [
      'test',
      '--',
      '--reporter=default',
      '--reporter=json',
      '--outputFile.json=../../.test-results/providers-js.json',
    ],
    'providers/js',
    env,
  );
  results.push(vitestCounts('providers/js', '.test-results/providers-js.json', js.code));

  // Go: go test -v, counting every test and subtest result line.
  const go = await run('go', ['test', '-count=1', '-v', './...'], 'providers/go', env);
  results.push({
    suite: 'providers/go',
    passed: count(/--- PASS/g, go.out),
    failed: count(/--- FAIL/g, go.out) + (go.code !== 0 && count(/--- FAIL/g, go.out) === 0 ? 1 : 0),
    skipped: count(/--- SKIP/g, go.out),
  });

  // Python: pytest through run-tests.sh (which creates the venv).
  const py = await run('bash', ['run-tests.sh', '-q'], 'providers/python', env);
  const summary =
    py.out
      .split('\n')
      .reverse()
      .find((l) => /\d+ (passed|failed)/.test(l)) ?? '';
  results.push({
    suite: 'providers/py',
    passed: num(/(\d+) passed/, summary),
    failed:
      num(/(\d+) failed/, summary) +
      num(/(\d+) error/, summary) +
      (py.code !== 0 && !/failed|error/.test(summary) ? 1 : 0),
    skipped: num(/(\d+) skipped/, summary),
  });
  await op.stop();
} catch (err) {
  console.error(`provider tests could not run: ${(err as Error).message}`);
  results.push({ suite: 'providers', passed: 0, failed: 1, skipped: 0 });
} finally {
  await cp.stop();
}
mkdirSync('.test-results', { recursive: true });
writeFileSync('.test-results/providers.json', JSON.stringify(results, null, 2));
