import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeAccessError, loadKubeAccess } from './access.js';

const dir = mkdtempSync(join(tmpdir(), 'access-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(name: string, cluster: Record<string, unknown>, user: Record<string, unknown>): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [{ name: 'k', cluster }],
      users: [{ name: 'u', user }],
    }),
  );
  return path;
}

describe('loadKubeAccess', () => {
  it('reads a token kubeconfig without client-node, trimming the trailing slash', async () => {
    const a = await loadKubeAccess(
      kubeconfig('token', { server: 'https://127.0.0.1:6443/' }, { token: 't0k' }),
      {},
    );
    expect(a.server).toBe('https://127.0.0.1:6443');
    expect((await a.prepare(`${a.server}/api`, 'GET')).headers).toEqual({ authorization: 'Bearer t0k' });
  });

  it('reads a token file relative to the kubeconfig', async () => {
    writeFileSync(join(dir, 'tok'), 'from-file\n');
    const a = await loadKubeAccess(
      kubeconfig('tokfile', { server: 'https://h:1' }, { tokenFile: 'tok' }),
      {},
    );
    expect((await a.prepare('https://h:1/api', 'GET')).headers.authorization).toBe('Bearer from-file');
  });

  it('hands exec plugins to client-node', async () => {
    const a = await loadKubeAccess(
      kubeconfig(
        'exec',
        { server: 'https://h:2' },
        { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'true' } },
      ),
      {},
    );
    expect(a.server).toBe('https://h:2');
  });

  it('names the problem: no current cluster, an unreadable file', async () => {
    const bad = join(dir, 'bad');
    writeFileSync(bad, JSON.stringify({ 'current-context': 'none' }));
    await expect(loadKubeAccess(bad, {})).rejects.toThrow(/no current cluster/);
    await expect(loadKubeAccess(join(dir, 'missing'), {})).rejects.toBeInstanceOf(KubeAccessError);
    await expect(loadKubeAccess(undefined, { HOME: dir }))
      .resolves.toBeDefined()
      .catch(() => {});
  });

  it('follows $KUBECONFIG', async () => {
    const path = kubeconfig('env', { server: 'https://env:3' }, { token: 'x' });
    expect((await loadKubeAccess(undefined, { KUBECONFIG: path })).server).toBe('https://env:3');
  });
});
