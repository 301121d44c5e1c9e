import { describe, expect, it } from 'vitest';
import { deploymentFactsCrd } from './crds.js';
import { FACT_NAME_PATTERN, FactMap, MAX_FACT_VALUE_CHARS, MAX_FACTS } from './facts.js';

describe('FactMap', () => {
  it.each([
    [{ tier: 'gold', replicas: 3 }, true],
    [{ 'a.b_c-d': 'x', A1: -5 }, true],
    [{ x: 'y'.repeat(MAX_FACT_VALUE_CHARS) }, true],
    [{ x: 'y'.repeat(MAX_FACT_VALUE_CHARS + 1) }, false],
    [{ '-bad': 'x' }, false],
    [{ 'bad-': 'x' }, false],
    [{ ['a'.repeat(64)]: 'x' }, false],
    [{ nested: { a: 1 } }, false],
    [{ list: [1] }, false],
    [{ nothing: null }, false],
    [{ flag: true }, false],
    [{ ratio: 0.5 }, false],
    [{ big: 2 ** 53 }, false],
    [Object.fromEntries(Array.from({ length: MAX_FACTS }, (_, i) => [`f${i}`, i])), true],
    [Object.fromEntries(Array.from({ length: MAX_FACTS + 1 }, (_, i) => [`f${i}`, i])), false],
  ])('%j valid=%s', (input, valid) => {
    expect(FactMap.safeParse(input).success).toBe(valid);
  });

  it('names the offending fact', () => {
    const r = FactMap.safeParse({ '-bad': 'x' });
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toContain('-bad');
  });

  it('uses the same name pattern and limits as the CRD', () => {
    const facts = deploymentFactsCrd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec as {
      properties: {
        facts: {
          maxProperties: number;
          additionalProperties: { maxLength: number };
          'x-kubernetes-validations': { rule: string }[];
        };
      };
    };
    expect(facts.properties.facts.maxProperties).toBe(MAX_FACTS);
    expect(facts.properties.facts.additionalProperties.maxLength).toBe(MAX_FACT_VALUE_CHARS);
    expect(facts.properties.facts['x-kubernetes-validations'][0]!.rule).toContain(FACT_NAME_PATTERN);
  });
});
