/** What integration tests of the Argo CD side share: the Application CRD, and the CMP's render step run as Argo CD runs it. */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl } from '../control-plane/kubectl.js';
import { controlPlane } from './cluster.js';
import { outputOf } from './process.js';

/** Installs Argo CD's Application CRD (a fixture: no Argo CD runs in these tests) and waits until it is served. */
export async function installApplicationCrd(): Promise<void> {
  const r = await kubectl(controlPlane(), [
    'apply',
    '--server-side',
    '-f',
    'test/integration/fixtures/argocd-application-crd.yaml',
  ]);
  if (r.code !== 0) throw new Error(`installing the Application CRD failed: ${r.stderr}`);
  await kubectl(controlPlane(), ['wait', '--for=condition=Established', 'crd/applications.argoproj.io']);
}

/**
 * Runs deploy/argocd/render.mjs (the flagops-facts plugin's generate step) as the CMP server would: in a directory
 * holding `templates` (file name → text), with `env` as the process's whole environment (PATH added).
 */
export async function renderWithPlugin(
  templates: Record<string, string>,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'render-'));
  for (const [file, text] of Object.entries(templates)) writeFileSync(join(dir, file), text);
  const script = join(import.meta.dirname, '../../deploy/argocd/render.mjs');
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', `const m = await import(${JSON.stringify(script)}); await m.main();`],
    { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env } },
  );
  return outputOf(child);
}
