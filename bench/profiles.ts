/**
 * Layered facts at fleet scale, in process (no API server): N identities (default 50,000) with P profiles
 * (default 20), a profile change that touches T of them (default 10,000), with L change-feed listeners attached
 * (default 100, each filtering for its own identity as an OFREP stream does). Prints the time until every touched
 * identity serves the new value (the store is what reads answer from), how long the event loop was held at once
 * (the longest gap a 1 ms timer saw), and the read cost with and without profiles side by side. Asserts nothing.
 *
 *   node --import tsx bench/profiles.ts      # BENCH_IDENTITIES, BENCH_PROFILES, BENCH_TOUCHED, BENCH_LISTENERS
 */
import { performance } from 'node:perf_hooks';
import { LayeredFacts } from '../src/store/layered-facts.js';
import type { ProfileLayer } from '../src/store/layers.js';
import { servedFacts } from '../src/store/serialized.js';
import { Store } from '../src/store/store.js';

const N = Number(process.env.BENCH_IDENTITIES ?? 50_000);
const P = Number(process.env.BENCH_PROFILES ?? 20);
const T = Number(process.env.BENCH_TOUCHED ?? 10_000);
const L = Number(process.env.BENCH_LISTENERS ?? 100);
const NAMESPACES = 20;

const layer = (i: number, facts: Record<string, string | number>): ProfileLayer => ({
  kind: 'ClusterFactProfile',
  name: `p-${i}`,
  priority: i,
  // profile 0 selects `touched=yes` (T identities); the others select a tier each, spread over the fleet
  selector: { matchLabels: i === 0 ? { touched: 'yes' } : { tier: `t${i % 5}` } },
  facts,
});

function fleet(withProfiles: boolean) {
  const store = new Store();
  const layers = new LayeredFacts(store);
  if (withProfiles)
    for (let i = 0; i < P; i++) layers.setProfile(layer(i, { [`default-${i}`]: i, 'max-replicas': i + 1 }));
  for (let i = 0; i < N; i++) {
    layers.setOwn(
      `ns-${i % NAMESPACES}`,
      `customer-${i}`,
      { tier: `t${i % 5}`, ...(i < T ? { touched: 'yes' } : {}) },
      {
        values: { tier: i % 3 === 0 ? 'gold' : 'silver', owner: `team-${i % 50}`, region: 'eu-west-1' },
        generation: 1,
        resourceVersion: String(i + 1),
        ready: true,
        reason: 'Indexed',
      },
    );
  }
  return { store, layers };
}

/** Reads of random identities, as the HTTP handler does them (lookup + pre-serialized body), per second. */
function readsPerSecond(store: Store, ms = 1000): number {
  let n = 0;
  const end = performance.now() + ms;
  let sink = 0;
  while (performance.now() < end) {
    for (let k = 0; k < 1000; k++) {
      const i = (Math.random() * N) | 0;
      const f = store.get(`ns-${i % NAMESPACES}`, `customer-${i}`)?.facts;
      if (f) sink += servedFacts(f).body.length;
    }
    n += 1000;
  }
  if (sink < 0) console.log(sink);
  return n / (ms / 1000);
}

const memory = () => Math.round(process.memoryUsage().heapUsed / 2 ** 20);

console.log(
  `node ${process.version}, ${N} identities, ${P} profiles, a change touching ${T}, ${L} change listeners`,
);
const t0 = performance.now();
const plain = fleet(false);
const tPlain = performance.now() - t0;
const t1 = performance.now();
const layered = fleet(true);
const tLayered = performance.now() - t1;
console.log(
  `fill: without profiles ${Math.round(tPlain)} ms, with ${P} profiles ${Math.round(tLayered)} ms; heap ${memory()} MiB (both fleets)`,
);

// Reads, alternating, three rounds each: the merged view is precomputed, so a read costs the same.
const rounds: { plain: number[]; layered: number[] } = { plain: [], layered: [] };
for (let r = 0; r < 3; r++) {
  rounds.plain.push(readsPerSecond(plain.store));
  rounds.layered.push(readsPerSecond(layered.store));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
console.log(
  `reads/s (lookup + serialized body): without profiles ${Math.round(median(rounds.plain)).toLocaleString('en-US')}, with ${Math.round(median(rounds.layered)).toLocaleString('en-US')} (${((median(rounds.layered) / median(rounds.plain)) * 100).toFixed(0)}%)`,
);

// The change: listeners as OFREP streams and the change feed hold them (one per watched identity).
let delivered = 0;
for (let l = 0; l < L; l++) {
  const want = `customer-${l}`;
  layered.store.onChange((e) => {
    if (e.name === want) delivered++;
  });
}
let maxGap = 0;
let last = performance.now();
let ticking = true;
const tick = () => {
  const now = performance.now();
  maxGap = Math.max(maxGap, now - last);
  last = now;
  if (ticking) setTimeout(tick, 1);
};
setTimeout(tick, 1);
await new Promise((r) => setTimeout(r, 20));
const tChange = performance.now();
const revision0 = layered.store.revision;
layered.layers.setProfile(layer(0, { 'default-0': 'changed', 'max-replicas': 99 }));
const tCall = performance.now() - tChange;
const visible = () => {
  if (layered.layers.pending > 0) return false;
  for (let i = 0; i < T; i++) {
    const f = layered.store.get(`ns-${i % NAMESPACES}`, `customer-${i}`)?.facts;
    if (f?.values['default-0'] !== 'changed') throw new Error(`customer-${i} does not serve the change`);
  }
  return true;
};
while (!visible()) await new Promise((r) => setImmediate(r));
const tVisible = performance.now() - tChange;
await new Promise((r) => setTimeout(r, 50));
ticking = false;
console.log(
  `profile change touching ${T}: setProfile returned after ${Math.round(tCall)} ms, all visible in reads after ${Math.round(tVisible)} ms; ${layered.store.revision - revision0} change events, ${delivered} delivered to the ${L} listeners; event loop held at most ${Math.round(maxGap)} ms at once`,
);
