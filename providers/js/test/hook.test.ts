import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, type EvaluationContext, InMemoryProvider, OpenFeature } from '@openfeature/server-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FlagopsContextHook, type FlagopsOptions } from '../src/index.js';
import { FakeStore } from './fake-store.js';
import {
  eventually,
  maxReplicasFlags,
  pollUntil,
  recordingLogger,
  TYPED_FACTS,
  typedFlags,
  uniqueIdentity,
} from './helpers.js';

const NS = 'team-a';
const store = new FakeStore();
let baseUrl: string;
const hooks: FlagopsContextHook[] = [];

beforeAll(async () => {
  baseUrl = await store.start();
  await OpenFeature.setProviderAndWait(new InMemoryProvider(maxReplicasFlags()));
});

afterEach(async () => {
  await Promise.all(hooks.splice(0).map((h) => h.close()));
  store.token = undefined;
  store.failWith = undefined;
  store.stall = false;
});

afterAll(async () => {
  await store.stop();
  await OpenFeature.close();
});

/** A client with its own hook, so tests do not share caches or streams. */
function setup(options: Partial<FlagopsOptions> = {}) {
  const { logger, lines } = recordingLogger();
  const hook = new FlagopsContextHook({ baseUrl, defaultNamespace: NS, token: '', logger, ...options });
  hooks.push(hook);
  const client = OpenFeature.getClient();
  client.addHooks(hook);
  // Default 0 tells "the caller's default" apart from the flag's own variants 1 and 5.
  const evaluate = (context: EvaluationContext) => client.getNumberDetails('max-replicas', 0, context);
  return { hook, client, lines, evaluate };
}

describe('FlagopsContextHook', () => {
  it('merges the facts of the targeting key into the context', async () => {
    const { evaluate } = setup({ watch: false });
    const gold = uniqueIdentity('gold');
    const silver = uniqueIdentity('silver');
    store.setFact(NS, gold, 'tier', 'gold');
    store.setFact(NS, gold, 'max-replicas', 3);
    store.setFact(NS, silver, 'tier', 'silver');

    expect(await evaluate({ targetingKey: gold })).toMatchObject({ value: 5, reason: 'TARGETING_MATCH' });
    expect((await evaluate({ targetingKey: silver })).value).toBe(1);
    // An identity without facts (404) is not an error: the rule just sees no tier.
    const none = await evaluate({ targetingKey: uniqueIdentity('none') });
    expect(none.value).toBe(1);
    expect(none.errorCode).toBeUndefined();
  });

  it('passes integer facts through and lets explicit attributes win', async () => {
    const { hook } = setup({ watch: false });
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'silver');
    store.setFact(NS, id, 'max-replicas', 3);
    const seen: EvaluationContext[] = [];
    const client = OpenFeature.getClient();
    client.addHooks(hook, { before: ({ context }) => void seen.push({ ...context }) });

    const details = await client.getNumberDetails('max-replicas', 0, { targetingKey: id, tier: 'gold' });
    expect(details.value).toBe(5);
    expect(seen[0]).toEqual({ targetingKey: id, tier: 'gold', 'max-replicas': 3 });
  });

  it('passes boolean and decimal facts through with their JSON types; "true" stays a string', async () => {
    const { hook } = setup({ watch: false });
    const seen: EvaluationContext[] = [];
    const domain = uniqueIdentity('typed');
    await OpenFeature.setProviderAndWait(domain, new InMemoryProvider(typedFlags((c) => seen.push(c))));
    const client = OpenFeature.getClient(domain);
    client.addHooks(hook);
    const id = uniqueIdentity();
    store.setFacts(NS, id, TYPED_FACTS);
    const context = { targetingKey: id };

    const beta = await client.getBooleanDetails('beta-features', false, context);
    expect(beta).toMatchObject({ value: true, variant: 'on', reason: 'TARGETING_MATCH' });
    const rollout = await client.getNumberDetails('rollout-percent', -1, context);
    expect(rollout).toMatchObject({ value: 50, variant: 'half', reason: 'TARGETING_MATCH' });
    expect(await client.getStringValue('legacy-type', '', context)).toBe('string');

    expect(seen).toHaveLength(3);
    for (const c of seen) expect(c).toEqual({ targetingKey: id, ...TYPED_FACTS });
    expect(seen[0]?.beta).toBe(true);
    expect(seen[0]?.ratio).toBe(0.5);
    expect(seen[0]?.replicas).toBe(3);
    expect(seen[0]?.legacy).toBe('true');

    // Explicit attributes still win, also when they are false or 0.
    const off = { targetingKey: id, beta: false, ratio: 0 };
    expect(await client.getBooleanDetails('beta-features', true, off)).toMatchObject({
      value: false,
      variant: 'off',
      reason: 'TARGETING_MATCH',
    });
    expect(await client.getNumberValue('rollout-percent', -1, off)).toBe(0);
  });

  it('reads the namespace from the context, else the default namespace', async () => {
    const { evaluate } = setup({ watch: false });
    const id = uniqueIdentity();
    store.setFact('other', id, 'tier', 'gold');
    expect((await evaluate({ targetingKey: id, namespace: 'other' })).value).toBe(5);
    expect((await evaluate({ targetingKey: id })).value).toBe(1);
    expect(store.requests.at(-1)?.path).toBe(`/api/v1/namespaces/${NS}/identities/${id}/facts`);
  });

  it('looks nothing up without a targeting key', async () => {
    const { evaluate } = setup({ watch: false });
    const before = store.requests.length;
    expect(await evaluate({ tier: 'gold' })).toMatchObject({ value: 5 });
    expect(store.requests.length).toBe(before);
  });

  it('caches facts for cacheTtlMs', async () => {
    const { evaluate } = setup({ watch: false, cacheTtlMs: 300 });
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'silver');
    expect((await evaluate({ targetingKey: id })).value).toBe(1);
    store.setFactSilently(NS, id, 'tier', 'gold');
    expect((await evaluate({ targetingKey: id })).value).toBe(1); // still cached
    const later = await pollUntil(
      () => evaluate({ targetingKey: id }),
      (d) => d.value === 5,
      2_000,
    );
    expect(later.value).toBe(5);
  });

  it('a change pushed over the watch stream reaches the next evaluation within a second', async () => {
    const { hook, evaluate } = setup();
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'silver');
    expect((await evaluate({ targetingKey: id })).value).toBe(1);
    await eventually(() => hook.watching);
    // The TTL is 30 s, so only the stream can explain a flip within the second.
    store.setFact(NS, id, 'tier', 'gold');
    const started = performance.now();
    const details = await pollUntil(
      () => evaluate({ targetingKey: id }),
      (d) => d.value === 5,
      1_000,
    );
    expect(details.value).toBe(5);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('drops the whole cache on event: reset and on an unreadable change', async () => {
    const { hook, evaluate } = setup();
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'silver');
    hook.start();
    await eventually(() => hook.watching);
    expect((await evaluate({ targetingKey: id })).value).toBe(1);

    store.setFactSilently(NS, id, 'tier', 'gold');
    expect((await evaluate({ targetingKey: id })).value).toBe(1);
    store.broadcast('event: reset\n\n');
    expect(
      (
        await pollUntil(
          () => evaluate({ targetingKey: id }),
          (d) => d.value === 5,
          1_000,
        )
      ).value,
    ).toBe(5);

    store.setFactSilently(NS, id, 'tier', 'silver');
    store.broadcast('event: change\ndata: not json\n\n');
    expect(
      (
        await pollUntil(
          () => evaluate({ targetingKey: id }),
          (d) => d.value === 1,
          1_000,
        )
      ).value,
    ).toBe(1);
  });

  it('resumes the stream with Last-Event-ID after the server drops it', async () => {
    const { hook, evaluate } = setup();
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'silver');
    await evaluate({ targetingKey: id });
    await eventually(() => hook.watching);
    store.setFact(NS, id, 'note', 'x'); // gives the client an event id to resume from
    await new Promise((r) => setTimeout(r, 50));
    expect((await evaluate({ targetingKey: id })).value).toBe(1); // cached again

    store.dropWatchers();
    store.setFact(NS, id, 'tier', 'gold'); // happens while disconnected; replayed on resume
    const details = await pollUntil(
      () => evaluate({ targetingKey: id }),
      (d) => d.value === 5,
      3_000,
    );
    expect(details.value).toBe(5);
    const resumed = store.requests.filter((r) => r.path === '/api/v1/watch' && r.lastEventId !== undefined);
    expect(resumed.length).toBeGreaterThan(0);
  });

  it('store down: default value, error code GENERAL, logged once, recovers', async () => {
    const down = new FakeStore();
    const url = await down.start();
    const id = uniqueIdentity();
    down.setFact(NS, id, 'tier', 'gold');
    await down.stop(); // the port now refuses connections
    const { evaluate, lines } = setup({ baseUrl: url, cacheTtlMs: 0 });

    for (let i = 0; i < 3; i++) {
      const details = await evaluate({ targetingKey: id });
      expect(details).toMatchObject({ value: 0, reason: 'ERROR', errorCode: ErrorCode.GENERAL });
      expect(details.errorMessage).toMatch(/flagops data store unreachable/);
      expect(details.errorMessage).toMatch(/ECONNREFUSED/);
    }
    expect(lines.error).toHaveLength(1);
    expect(lines.error[0]).toMatch(/unreachable/);

    await down.restart();
    down.setFact(NS, id, 'tier', 'gold');
    expect((await evaluate({ targetingKey: id })).value).toBe(5);
    expect(lines.info.some((l) => /reachable again/.test(l))).toBe(true);
    await down.stop();
    expect((await evaluate({ targetingKey: id })).errorCode).toBe(ErrorCode.GENERAL);
    expect(lines.error).toHaveLength(2); // a new outage is reported again
  });

  it('treats HTTP 5xx as unreachable and 401/403 as denied', async () => {
    const { evaluate, lines } = setup({ watch: false, cacheTtlMs: 0 });
    const id = uniqueIdentity();
    store.failWith = 503;
    expect(await evaluate({ targetingKey: id })).toMatchObject({ value: 0, errorCode: ErrorCode.GENERAL });
    expect(lines.error.at(-1)).toMatch(/unreachable.*HTTP 503/);
    store.failWith = 403;
    const denied = await evaluate({ targetingKey: id });
    expect(denied).toMatchObject({ value: 0, errorCode: ErrorCode.GENERAL });
    expect(denied.errorMessage).toMatch(/denied access.*HTTP 403/);
    expect(lines.error).toHaveLength(2);
  });

  it('gives up after timeoutMs', async () => {
    const { evaluate } = setup({ watch: false, timeoutMs: 150 });
    store.stall = true;
    const started = performance.now();
    const details = await evaluate({ targetingKey: uniqueIdentity() });
    expect(details).toMatchObject({ value: 0, errorCode: ErrorCode.GENERAL });
    expect(details.errorMessage).toMatch(/timed out/);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('FlagopsContextHook authentication', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flagops-token-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sends a fixed token, or no header at all when the token is empty', async () => {
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'gold');
    await setup({ watch: false, token: 's3cret' }).evaluate({ targetingKey: id });
    expect(store.requests.at(-1)?.authorization).toBe('Bearer s3cret');
    await setup({ watch: false, token: '' }).evaluate({ targetingKey: id });
    expect(store.requests.at(-1)?.authorization).toBeUndefined();
  });

  it('picks up a rotated token file', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'token-a\n');
    store.token = 'token-a';
    const { hook, evaluate } = setup({ token: undefined, tokenFile: file, cacheTtlMs: 0 });
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'gold');
    expect((await evaluate({ targetingKey: id })).value).toBe(5);
    expect(store.requests.at(-1)?.authorization).toBe('Bearer token-a');
    await eventually(() => hook.watching); // the stream authenticates with the same token

    // kubelet rotates the token: the old one stops working at once.
    await writeFile(file, 'token-b\n');
    store.token = 'token-b';
    expect((await evaluate({ targetingKey: id })).value).toBe(5);
    expect(store.requests.at(-1)?.authorization).toBe('Bearer token-b');
  });

  it('logs an unreadable token file once and sends no header', async () => {
    const { evaluate, lines } = setup({
      watch: false,
      token: undefined,
      tokenFile: join(dir, 'missing'),
      cacheTtlMs: 0,
    });
    const id = uniqueIdentity();
    store.setFact(NS, id, 'tier', 'gold');
    await evaluate({ targetingKey: id });
    await evaluate({ targetingKey: id });
    expect(store.requests.at(-1)?.authorization).toBeUndefined();
    expect(lines.warn.filter((l) => /cannot read token file/.test(l))).toHaveLength(1);
  });
});

describe('FlagopsContextHook targeting keys', () => {
  it('does not look up targeting keys or namespaces that cannot be Kubernetes names', async () => {
    const { evaluate } = setup({ watch: false });
    const before = store.requests.length;
    const contexts: EvaluationContext[] = [
      { targetingKey: 'User@Example.com' },
      { targetingKey: 'UPPER' },
      { targetingKey: 'ok-name', namespace: 'Not_A_Namespace' },
    ];
    for (const context of contexts) {
      const details = await evaluate(context);
      expect(details).toMatchObject({ value: 1, reason: 'TARGETING_MATCH' });
      expect(details.errorCode).toBeUndefined();
    }
    expect(store.requests.length).toBe(before);
  });

  it('rejects an invalid defaultNamespace or baseUrl at construction', () => {
    expect(() => new FlagopsContextHook({ baseUrl, defaultNamespace: 'Bad_NS' })).toThrow(/defaultNamespace/);
    expect(() => new FlagopsContextHook({ baseUrl: 'not a url' })).toThrow();
    expect(() => new FlagopsContextHook({ baseUrl, timeoutMs: 0 })).toThrow(/timeoutMs/);
  });
});
