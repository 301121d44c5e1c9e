import { describe, expect, it } from 'vitest';
import type { DeploymentFacts } from '../../api/types.js';
import { decideFacts } from './decide.js';

const now = new Date('2026-02-03T04:05:06Z');
const obj = (facts: unknown, generation = 3, status?: DeploymentFacts['status']): DeploymentFacts => ({
  apiVersion: 'flagops.io/v1alpha1',
  kind: 'DeploymentFacts',
  metadata: { name: 'app', namespace: 'ns', generation },
  spec: { facts } as DeploymentFacts['spec'],
  status,
});

describe('decideFacts', () => {
  it('serves valid facts and reports Ready=True with the generation', () => {
    const d = decideFacts(obj({ tier: 'gold', replicas: 3 }), now);
    expect(d.store).toEqual({ op: 'set', values: { tier: 'gold', replicas: 3 } });
    expect(d.status).toEqual({
      observedGeneration: 3,
      factCount: 2,
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Indexed',
          message: '2 facts served',
          observedGeneration: 3,
          lastTransitionTime: '2026-02-03T04:05:06Z',
        },
      ],
    });
    expect(d.warning).toBeUndefined();
  });

  it('treats a missing spec as no facts', () => {
    const d = decideFacts({ ...obj({}), spec: undefined }, now);
    expect(d.store).toEqual({ op: 'set', values: {} });
    expect(d.status.factCount).toBe(0);
  });

  it('keeps the last good facts on an invalid spec, naming the fact, and warns once', () => {
    const d = decideFacts(obj({ nested: { a: 1 } }), now);
    expect(d.store).toEqual({ op: 'keep' });
    const ready = d.status.conditions![0]!;
    expect(ready).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(ready.message).toContain('spec.facts.nested');
    expect(d.warning?.reason).toBe('InvalidSpec');
    const again = decideFacts(obj({ nested: { a: 1 } }, 3, d.status), now);
    expect(again.warning).toBeUndefined();
  });
});
