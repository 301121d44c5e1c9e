import { describe, expect, it } from 'vitest';
import { profileOfFacts, prototypeFacts, servedFacts } from './serialized.js';
import type { FactsEntry, Identity } from './store.js';

const entry = (values: Record<string, string | number>, layered = false): FactsEntry => ({
  values,
  generation: 3,
  resourceVersion: '10',
  ready: true,
  reason: 'Indexed',
  ...(layered
    ? {
        own: {},
        layers: [{ kind: 'ClusterFactProfile', name: 'gold', priority: 1, selector: {}, facts: values }],
      }
    : {}),
});

describe('servedFacts', () => {
  it('is the JSON of the served values with the generation as ETag, made once per entry', () => {
    const e = entry({ tier: 'gold', 'max-replicas': 3 });
    const s = servedFacts(e);
    expect(s.body).toBe('{"tier":"gold","max-replicas":3}');
    expect(s.etag).toMatch(/^"3\.[0-9a-f]{12}"$/);
    // Deleted and created again at the same generation with other facts: another ETag.
    expect(servedFacts(entry({ tier: 'silver', 'max-replicas': 3 })).etag).not.toBe(s.etag);
    expect(servedFacts(e)).toBe(s);
  });

  it('names the merged values in the ETag when profiles supply facts, so a profile change moves it', () => {
    const a = servedFacts(entry({ support: 'email' }, true));
    const b = servedFacts(entry({ support: 'phone' }, true));
    expect(a.etag).toMatch(/^"3\.[0-9a-f]{12}"$/);
    expect(b.etag).toMatch(/^"3\./);
    expect(a.etag).not.toBe(b.etag);
    expect(servedFacts(entry({ support: 'email' }, true)).etag).toBe(a.etag); // the same on every replica
  });
});

describe('prototypeFacts', () => {
  it('is the values as strings, with an ETag of the identity revision, made once per identity', () => {
    const identity: Identity = {
      namespace: 'a',
      name: 'web',
      facts: entry({ n: 1 }),
      secrets: undefined,
      revision: 7,
    };
    const s = prototypeFacts('ep', identity, 'a', 'web');
    expect(s.body).toBe('{"n":"1"}');
    expect(prototypeFacts('ep', identity, 'a', 'web')).toBe(s);
    expect(prototypeFacts('ep', { ...identity, revision: 8 }, 'a', 'web').etag).not.toBe(s.etag);
    expect(prototypeFacts('ep', undefined, 'a', 'web').body).toBe('{}');
  });
});

describe('profileOfFacts', () => {
  it('names, per fact a profile supplies, that profile; the identity own facts are not listed', () => {
    const e: FactsEntry = {
      ...entry({ tier: 'gold', region: 'eu', max: 3 }),
      own: { tier: 'gold' },
      layers: [
        {
          kind: 'ClusterFactProfile',
          name: 'defaults',
          priority: 0,
          selector: {},
          facts: { region: 'us', max: 1 },
        },
        {
          kind: 'FactProfile',
          namespace: 'a',
          name: 'eu',
          priority: 5,
          selector: {},
          facts: { region: 'eu', tier: 'x' },
        },
      ],
    };
    expect(profileOfFacts(e)).toEqual({ region: 'FactProfile/a/eu', max: 'ClusterFactProfile/defaults' });
    expect(profileOfFacts(e)).toBe(profileOfFacts(e));
    expect(profileOfFacts(entry({ a: 1 }))).toEqual({});
    expect(profileOfFacts(e).toString).toBeUndefined(); // a fact named toString is looked up, not inherited
  });
});
