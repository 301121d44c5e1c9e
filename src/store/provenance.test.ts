import { describe, expect, it } from 'vitest';
import type { ManagedFieldsEntry } from '../api/types.js';
import { describeProvenance, factOwners } from './provenance.js';

const entry = (
  manager: string,
  operation: 'Apply' | 'Update',
  facts: string[],
  time = '2026-11-26T10:00:00Z',
): ManagedFieldsEntry => ({
  manager,
  operation,
  time,
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:spec': { 'f:facts': Object.fromEntries(facts.map((f) => [`f:${f}`, {}])) } },
});

describe('provenance', () => {
  it('names the path, who and when for each fact, from managedFields and the API writer’s record', () => {
    const owners = factOwners(
      [
        entry('argocd-controller', 'Apply', ['tier', 'shared']),
        entry('kubectl-client-side-apply', 'Update', ['region']),
        entry('flagops-data-store-api', 'Apply', ['max-replicas', 'plan', 'shared'], '2026-11-26T11:00:00Z'),
        entry('flagops-source/billing', 'Apply', ['seats']),
        { manager: 'flagops-data-store-operator', operation: 'Update', subresource: 'status', fieldsV1: {} },
      ],
      {
        'flagops.io/fact-origins': JSON.stringify({
          'max-replicas': { by: 'user:alice', at: '2026-11-26T11:00:01Z' },
          plan: { by: 'webhook:billing', at: '2026-11-26T11:00:02Z' },
        }),
      },
      ['tier', 'region', 'max-replicas', 'plan', 'seats', 'shared'],
    );
    expect(describeProvenance(owners)).toEqual({
      tier: {
        manager: 'argocd-controller',
        path: 'gitops',
        by: 'argocd-controller',
        at: '2026-11-26T10:00:00Z',
      },
      region: {
        manager: 'kubectl-client-side-apply',
        path: 'kubectl',
        by: 'kubectl-client-side-apply',
        at: '2026-11-26T10:00:00Z',
      },
      'max-replicas': {
        manager: 'flagops-data-store-api',
        path: 'api',
        by: 'user:alice',
        at: '2026-11-26T11:00:01Z',
      },
      plan: {
        manager: 'flagops-data-store-api',
        path: 'webhook',
        by: 'webhook:billing',
        at: '2026-11-26T11:00:02Z',
      },
      seats: { manager: 'flagops-source/billing', path: 'source', by: 'billing', at: '2026-11-26T10:00:00Z' },
      shared: {
        manager: 'flagops-data-store-api',
        path: 'api',
        by: 'flagops-data-store-api',
        at: '2026-11-26T11:00:00Z',
        coOwners: ['argocd-controller'],
      },
    });
  });

  it('keeps nothing when nobody owns a fact, and survives a hand-edited record', () => {
    expect(factOwners(undefined, undefined, ['a'])).toBeUndefined();
    const owners = factOwners(
      [entry('flagops-data-store-api', 'Apply', ['a'])],
      { 'flagops.io/fact-origins': '{not json' },
      ['a'],
    );
    expect(describeProvenance(owners).a).toMatchObject({ path: 'api', by: 'flagops-data-store-api' });
  });

  it('shares one frozen owner list between objects whose owners are the same, and only then', () => {
    const names = ['tier', 'region'];
    const a = factOwners([entry('argocd-controller', 'Apply', ['tier', 'region'])], undefined, [...names]);
    const b = factOwners([entry('argocd-controller', 'Apply', ['tier', 'region'])], undefined, [...names]);
    expect(b).toBe(a);
    expect(Object.isFrozen(a?.owners[0]?.facts)).toBe(true);
    // Another time, another manager, other facts: another list.
    const later = factOwners(
      [entry('argocd-controller', 'Apply', ['tier', 'region'], '2026-11-26T10:00:01Z')],
      undefined,
      names,
    );
    const kubectl = factOwners([entry('kubectl', 'Apply', ['tier', 'region'])], undefined, names);
    const fewer = factOwners([entry('argocd-controller', 'Apply', ['tier'])], undefined, names);
    for (const other of [later, kubectl, fewer]) expect(other?.owners).not.toBe(a?.owners);
    expect(fewer?.owners[0]?.facts).toEqual(['tier']);
    // A fact the spec no longer has is not named; the API writer's record stays per object.
    const withOrigins = factOwners(
      [entry('argocd-controller', 'Apply', ['tier', 'region', 'gone'])],
      {
        'flagops.io/fact-origins': '{}',
      },
      names,
    );
    expect(withOrigins?.owners).toBe(a?.owners);
    expect(withOrigins?.origins).toBe('{}');
    expect(factOwners([], { 'flagops.io/fact-origins': '{}' }, names)).toEqual({ owners: [], origins: '{}' });
  });
});
