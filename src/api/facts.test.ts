import { describe, expect, it } from 'vitest';
import { deploymentFactsCrd, deploymentFactsPolicy } from './crds.js';
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
    [{ flag: true, off: false }, true],
    [{ ratio: 0.5, negative: -1.25 }, true],
    [{ big: 2 ** 53 - 1, small: -(2 ** 53 - 1) }, true],
    [{ big: 2 ** 53 }, false],
    [{ huge: 1e300 }, false],
    [{ inf: Number.POSITIVE_INFINITY }, false],
    [{ nan: Number.NaN }, false],
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

  it.each([
    [{ nested: { a: 1 } }, 'must be a string, a number or a boolean'],
    [{ nothing: null }, 'must be a string, a number or a boolean'],
    [{ big: 2 ** 53 }, 'between -(2^53-1) and 2^53-1'],
    [{ long: 'y'.repeat(MAX_FACT_VALUE_CHARS + 1) }, `at most ${MAX_FACT_VALUE_CHARS} characters`],
  ])('%j is refused with a message about the value, at the fact', (input, message) => {
    const r = FactMap.safeParse(input);
    expect(r.error?.issues[0]?.path).toEqual(Object.keys(input));
    expect(r.error?.issues[0]?.message).toContain(message);
  });

  it('uses the same name pattern and limits as the CRD and its admission policy', () => {
    const facts = deploymentFactsCrd.spec.versions[0]!.schema.openAPIV3Schema.properties.spec as {
      properties: {
        facts: {
          maxProperties: number;
          additionalProperties: { maxLength: number };
        };
      };
    };
    expect(facts.properties.facts.maxProperties).toBe(MAX_FACTS);
    expect(facts.properties.facts.additionalProperties.maxLength).toBe(MAX_FACT_VALUE_CHARS);
    const expressions = deploymentFactsPolicy.spec.variables.map((v) => v.expression).join('\n');
    expect(expressions).toContain(FACT_NAME_PATTERN);
    expect(expressions).toContain(String(Number.MAX_SAFE_INTEGER));
  });
});
