import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeStore } from './fake-store.js';
import { uniqueIdentity } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Runs a TypeScript file with `node --import tsx`; resolves with its exit code and output. */
function run(file: string, env: Record<string, string>, timeoutMs = 8_000) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; ms: number }>(
    (resolve, reject) => {
      const started = performance.now();
      const child = spawn(process.execPath, ['--import', 'tsx', file], {
        cwd: root,
        env: { ...process.env, ...env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => {
        child.kill();
        reject(new Error(`${file} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
      }, timeoutMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: performance.now() - started });
      });
    },
  );
}

describe('process lifecycle (child processes)', () => {
  const store = new FakeStore();
  let url: string;
  beforeAll(async () => {
    url = await store.start();
  });
  afterAll(() => store.stop());

  it('examples/max-replicas.ts flips the flag and exits on its own', async () => {
    const result = await run('examples/max-replicas.ts', {
      FLAGOPS_URL: url,
      FLAGOPS_TOKEN: '',
      FLAGOPS_NAMESPACE: 'demo',
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/tier=silver -> max-replicas=1/);
    expect(result.stdout).toMatch(/tier=gold {3}-> max-replicas=5 after \d+ ms/);
  });

  it('OpenFeature.close() with a connected provider leaves nothing keeping Node alive', async () => {
    const identity = uniqueIdentity();
    store.setFact('default', identity, 'tier', 'gold');
    const result = await run('test/fixtures/provider-close.ts', { FLAGOPS_URL: url, IDENTITY: identity });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('watching=true value=5');
    expect(result.code).toBe(0);
  });
});
