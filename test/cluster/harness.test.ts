// The harness itself: a test run that dies leaves nothing behind. A second cluster (beside the one the other tests
// use) is started by `cli.ts up` in a child process, then killed two ways: the runner alone (its watchdog cleans up),
// and the runner with its watchdog (the next start, here `cli.ts down`, finds the stale cluster and removes it).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { eventually, REPO, run } from './kube.js';

const started: ChildProcess[] = [];
afterAll(() => {
  for (const c of started) c.kill('SIGKILL');
});

/** Starts `cli.ts up` and resolves with its state dir once the cluster is up. */
async function startInChild(): Promise<{ child: ChildProcess; state: string; netns: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/cluster/cli.ts', 'up'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const state = await eventually('the second cluster up', 120_000, async () => {
    if (child.exitCode !== null) throw new Error(`cli.ts up exited ${child.exitCode}: ${out}`);
    return /state and logs: (\S+)\/logs/.exec(out)?.[1];
  });
  return { child, state, netns: `flagops-${state.split('-').pop()}` };
}

/** What a cluster leaves on the machine while it runs. */
function traces(state: string, netns: string): string[] {
  const found: string[] = [];
  if (existsSync(state)) found.push(`state dir ${state}`);
  if (existsSync(`/run/netns/${netns}`)) found.push(`netns ${netns}`);
  for (const c of readdirSync('/sys/fs/cgroup')) {
    if (existsSync(join('/sys/fs/cgroup', c, netns))) found.push(`cgroup ${c}/${netns}`);
  }
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(`${state}/`)) found.push('mounts');
  const procs = spawnSync('pgrep', ['-f', state], { encoding: 'utf8' }).stdout.trim();
  if (procs) found.push(`processes ${procs.split('\n').join(',')}`);
  return found;
}

it('a runner killed with SIGKILL: its watchdog removes the cluster', async () => {
  const { child, state, netns } = await startInChild();
  expect(traces(state, netns)).toEqual(expect.arrayContaining([`netns ${netns}`, 'mounts']));
  child.kill('SIGKILL');
  await eventually('nothing left', 60_000, async () => traces(state, netns).length === 0);
}, 200_000);

it('a runner killed with its watchdog: the next start names the stale cluster and removes it', async () => {
  const { child, state, netns } = await startInChild();
  // The watchdog is the shell waiting to run down.sh for this state dir.
  const watchdog = spawnSync('pgrep', ['-f', `down.sh ${state}`], { encoding: 'utf8' }).stdout.trim();
  expect(watchdog).not.toBe('');
  for (const pid of watchdog.split('\n')) process.kill(Number(pid), 'SIGKILL');
  child.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1_000));
  expect(traces(state, netns)).toContain(`netns ${netns}`);
  const down = await run(process.execPath, ['--import', 'tsx', 'test/cluster/cli.ts', 'down']);
  expect(down.code).toBe(0);
  expect(down.stdout).toContain(`removing stale cluster ${netns}`);
  expect(traces(state, netns)).toEqual([]);
}, 200_000);
