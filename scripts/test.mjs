#!/usr/bin/env node
// The whole test suite: lint and type-check, the unit and integration tests (one real control plane), then
// each provider package with its own ecosystem's runner. Ends with the line `N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';

const results = [];
const run = (name, cmd, args, opts = {}) => {
  console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`=== ${name}: exit ${r.status ?? r.signal} in ${seconds}s`);
  return r.status === 0;
};

// 1. Static checks count as one test each: a red lint fails the run.
for (const [name, args] of [
  ['typecheck', ['tsc', '--noEmit', '-p', '.']],
  ['lint', ['biome', 'check', '.']],
]) {
  const ok = run(name, 'npx', args);
  results.push({ suite: name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0 });
}

// 2. Vitest: unit and integration projects.
mkdirSync('.test-results', { recursive: true });
rmSync('.test-results/vitest.json', { force: true });
run('vitest', 'npx', [
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  '--outputFile.json=.test-results/vitest.json',
]);
if (existsSync('.test-results/vitest.json')) {
  const v = JSON.parse(readFileSync('.test-results/vitest.json', 'utf8'));
  const failedFiles = (v.testResults ?? []).filter(
    (f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0,
  ).length;
  results.push({
    suite: 'vitest',
    passed: v.numPassedTests,
    failed: v.numFailedTests + failedFiles,
    skipped: v.numPendingTests + v.numTodoTests,
  });
} else {
  results.push({ suite: 'vitest', passed: 0, failed: 1, skipped: 0 });
}

// 3. The OpenFeature providers, each with its own runner, against a running operator.
rmSync('.test-results/providers.json', { force: true });
run('providers', 'node', ['--import', 'tsx', 'scripts/test-providers.ts']);
if (existsSync('.test-results/providers.json')) {
  results.push(...JSON.parse(readFileSync('.test-results/providers.json', 'utf8')));
} else {
  results.push({ suite: 'providers', passed: 0, failed: 1, skipped: 0 });
}

console.log('\nSummary:');
for (const r of results)
  console.log(`  ${r.suite.padEnd(12)} ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
const total = results.reduce(
  (a, r) => ({ passed: a.passed + r.passed, failed: a.failed + r.failed, skipped: a.skipped + r.skipped }),
  {
    passed: 0,
    failed: 0,
    skipped: 0,
  },
);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed === 0 && total.passed > 0 ? 0 : 1);
