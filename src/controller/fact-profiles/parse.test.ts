import { describe, expect, it } from 'vitest';
import type { FactProfile } from '../../api/types.js';
import { parseProfile } from './parse.js';

const profile = (spec: unknown, namespace?: string): FactProfile =>
  ({
    apiVersion: 'flagops.io/v1alpha1',
    kind: namespace ? 'FactProfile' : 'ClusterFactProfile',
    metadata: { name: 'p', ...(namespace ? { namespace } : {}) },
    spec,
  }) as FactProfile;

describe('parseProfile', () => {
  it('makes a layer of a valid profile, priority 0 by default', () => {
    expect(parseProfile(profile({ selector: {}, facts: { max: 3 } }, 'ns'), 'FactProfile')).toEqual({
      ok: true,
      layer: {
        kind: 'FactProfile',
        namespace: 'ns',
        name: 'p',
        priority: 0,
        selector: {},
        facts: { max: 3 },
      },
    });
    const c = parseProfile(
      profile({ selector: { matchLabels: { tier: 'gold' } }, priority: 7 }),
      'ClusterFactProfile',
    );
    expect(c).toMatchObject({ ok: true, layer: { priority: 7, facts: {} } });
    expect(c.ok && 'namespace' in c.layer).toBe(false);
  });

  it.each([
    [
      { selector: {}, facts: { bad: { nested: 1 } } },
      'spec.facts.bad: must be a string, a number or a boolean',
    ],
    [{ selector: {}, facts: { 'no spaces': 1 } }, 'invalid fact name no spaces'],
    [{ facts: {} }, 'spec.selector'],
    [{ selector: { matchExpressions: [{ key: 'tier', operator: 'In' }] } }, 'In needs at least one value'],
    [
      { selector: { matchExpressions: [{ key: 'tier', operator: 'Exists', values: ['x'] }] } },
      'Exists takes no values',
    ],
    [{ selector: {}, priority: -1 }, 'spec.priority'],
  ])('names the problem of %j', (spec, message) => {
    const r = parseProfile(profile(spec, 'ns'), 'FactProfile');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toContain(message);
  });
});

describe('namespaceSelector', () => {
  it('is a ClusterFactProfile field: a FactProfile with one is invalid, saying so', () => {
    const obj = {
      metadata: { name: 'p', namespace: 'a' },
      spec: { selector: {}, namespaceSelector: { matchLabels: { env: 'prod' } }, facts: { x: 1 } },
    } as never;
    expect(parseProfile(obj, 'FactProfile')).toEqual({
      ok: false,
      message: expect.stringContaining('only a ClusterFactProfile selects namespaces'),
    });
    const parsed = parseProfile(obj, 'ClusterFactProfile');
    expect(parsed.ok && parsed.layer.namespaceSelector).toEqual({ matchLabels: { env: 'prod' } });
  });
});
