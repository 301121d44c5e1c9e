import { describe, expect, it } from 'vitest';
import type { FactMap } from '../api/facts.js';
import type { DeploymentFacts, ManagedFieldsEntry } from '../api/types.js';
import { planApply } from './apply.js';

const ME = 'flagops-source/billing';
const entry = (
  manager: string,
  facts: string[],
  operation: 'Apply' | 'Update' = 'Apply',
): ManagedFieldsEntry => ({
  manager,
  operation,
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:spec': { 'f:facts': Object.fromEntries(facts.map((f) => [`f:${f}`, {}])) } },
});
const obj = (
  name: string,
  facts: Record<string, string | number>,
  managed: ManagedFieldsEntry[],
): DeploymentFacts => ({
  apiVersion: 'flagops.io/v1alpha1',
  kind: 'DeploymentFacts',
  metadata: { name, namespace: 'ns', managedFields: managed },
  spec: { facts },
});

describe('planApply', () => {
  it('creates objects for new identities and skips identities already up to date', () => {
    const plans = planApply(
      ME,
      new Map<string, FactMap>([
        ['new', { tier: 'gold' }],
        ['same', { tier: 'gold' }],
        ['empty-new', {}],
      ]),
      [obj('same', { tier: 'gold', other: 'x' }, [entry(ME, ['tier']), entry('gitops', ['other'])])],
    );
    expect(plans.map((p) => [p.identity, p.needed, p.exists, p.facts])).toEqual([
      ['new', true, false, { tier: 'gold' }],
      ['same', false, true, { tier: 'gold' }],
      ['empty-new', false, false, {}],
    ]);
  });

  it('applies a changed value, and a removed fact by leaving it out', () => {
    const plans = planApply(ME, new Map([['c', { tier: 'platinum' }]]), [
      obj('c', { tier: 'gold', replicas: 3 }, [entry(ME, ['tier', 'replicas'])]),
    ]);
    expect(plans).toEqual([
      { identity: 'c', facts: { tier: 'platinum' }, conflicts: [], needed: true, exists: true },
    ]);
  });

  it('covers identities that left the result but still hold our facts', () => {
    const plans = planApply(ME, new Map(), [
      obj('gone', { tier: 'gold', owner: 'a' }, [entry(ME, ['tier']), entry('gitops', ['owner'])]),
      obj('unrelated', { owner: 'b' }, [entry('gitops', ['owner'])]),
    ]);
    expect(plans).toEqual([{ identity: 'gone', facts: {}, conflicts: [], needed: true, exists: true }]);
  });

  it('leaves facts owned by others alone and reports them, even with the same value', () => {
    const plans = planApply(ME, new Map([['c', { tier: 'gold', region: 'eu', owner: 'x' }]]), [
      obj('c', { tier: 'bronze', region: 'eu', owner: 'x' }, [
        entry('gitops', ['tier']),
        entry('flagops-data-store-api', ['region']),
        entry(ME, ['owner']),
        entry('kubectl-client-side-apply', ['owner'], 'Update'),
      ]),
    ]);
    expect(plans[0]).toEqual({
      identity: 'c',
      facts: {},
      conflicts: [
        { fact: 'tier', owners: ['gitops'] },
        { fact: 'region', owners: ['flagops-data-store-api'] },
        { fact: 'owner', owners: ['kubectl-client-side-apply'] },
      ],
      // We owned owner together with another manager: the apply drops our claim, the value stays theirs.
      needed: true,
      exists: true,
    });
  });
});
