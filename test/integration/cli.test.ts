/** The command line: help, exit code 2 for bad flags and files, and health endpoints from the first moment. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/cluster.js';
import { freePort } from '../support/process.js';

const dir = mkdtempSync(join(tmpdir(), 'flagops-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const unreachableKubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  unreachableKubeconfig,
  `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`,
);
const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });

describe('flagops-data-store', () => {
  it('--help lists every flag with its environment variable', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    for (const flag of [
      '--kubeconfig',
      '--namespaces',
      '--default-namespace',
      '--listen',
      '--auth',
      '--log-level',
      '--leader-elect',
    ]) {
      expect(r.stdout).toContain(flag);
    }
    expect(r.stdout).toContain('FLAGOPS_LISTEN');
  });

  it.each([
    [['--no-such-flag'], 'unknown flag --no-such-flag'],
    [['--listen=nowhere'], 'invalid --listen'],
    [['--auth=none', '--listen=0.0.0.0:8080'], 'only listens on loopback'],
    [[], 'invalid --log-level', { FLAGOPS_LOG_LEVEL: 'chatty' }],
    [['--kubeconfig=/nonexistent/kubeconfig'], 'cannot load the kubeconfig'],
  ] as [string[], string, Record<string, string>?][])(
    '%j stops with exit code 2 and says why',
    (args, message, env) => {
      const r = cli(args, env);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(message);
      // Short, the cause in its tail: a pod's termination message is the last lines of its log.
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
    },
  );

  it('stops with exit code 2 on an invalid webhooks file', () => {
    const file = join(dir, 'webhooks.yaml');
    writeFileSync(file, 'webhooks:\n  - name: Not_A_Label\n');
    const r = cli([`--kubeconfig=${unreachableKubeconfig}`, `--webhooks-config=${file}`]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('invalid webhooks config');
  });

  it('answers /healthz at once and /readyz 503 while the API server cannot be reached', async () => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/main.ts',
        `--kubeconfig=${unreachableKubeconfig}`,
        `--listen=127.0.0.1:${port}`,
      ],
      {
        stdio: 'ignore',
      },
    );
    try {
      await eventually(
        async () => expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200),
        15_000,
        100,
      );
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'informers not synced' });
    } finally {
      child.kill('SIGKILL');
    }
  });
});
