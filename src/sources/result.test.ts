import { describe, expect, it } from 'vitest';
import { factsFromRows, InvalidResultError, toFactValue } from './result.js';

describe('factsFromRows', () => {
  it('shape rows: one row per identity and fact', () => {
    const r = factsFromRows(
      [
        { identity: 'customer-1', fact: 'tier', value: 'gold' },
        { identity: 'customer-1', fact: 'replicas', value: 3 },
        { identity: 'customer-2', fact: 'tier', value: 'silver' },
        { identity: 'customer-2', fact: 'gone', value: null },
      ],
      ['identity', 'fact', 'value'],
      'rows',
    );
    expect(r.rows).toBe(4);
    expect(Object.fromEntries(r.identities)).toEqual({
      'customer-1': { tier: 'gold', replicas: 3 },
      'customer-2': { tier: 'silver' },
    });
    expect(r.problems).toEqual([]);
  });

  it('shape columns: every column but identity is a fact; NULL means no fact', () => {
    const r = factsFromRows(
      [
        { identity: 'a', tier: 'gold', beta: true, region: null },
        { identity: 'b', tier: null, beta: false, region: null },
      ],
      ['identity', 'tier', 'beta', 'region'],
      'columns',
    );
    expect(Object.fromEntries(r.identities)).toEqual({
      a: { tier: 'gold', beta: true },
      b: { beta: false },
    });
  });

  it('keeps an identity whose facts are all NULL, empty, so that its facts are removed', () => {
    const r = factsFromRows([{ identity: 'a', tier: null }], ['identity', 'tier'], 'columns');
    expect(Object.fromEntries(r.identities)).toEqual({ a: {} });
  });

  it('reports bad identities, fact names and values, and applies the rest', () => {
    const r = factsFromRows(
      [
        { identity: 'Not_A_Name', fact: 'tier', value: 'x' },
        { identity: 'Not_A_Name', fact: 'other', value: 'x' },
        { identity: 'ok', fact: '-bad', value: 'x' },
        { identity: 'ok', fact: 'long', value: 'x'.repeat(4097) },
        { identity: 'ok', fact: 'blob', value: Buffer.from('x') },
        { identity: 'ok', fact: 'nan', value: Number.NaN },
        { identity: 'ok', fact: 'tier', value: 'gold' },
        { identity: 'ok', fact: 'tier', value: 'silver' },
      ],
      ['identity', 'fact', 'value'],
      'rows',
    );
    expect(Object.fromEntries(r.identities)).toEqual({ ok: { tier: 'gold' } });
    expect(r.problems.map((p) => [p.identity, p.fact, p.reason])).toEqual([
      ['Not_A_Name', undefined, 'InvalidIdentity'],
      ['ok', '-bad', 'InvalidFact'],
      ['ok', 'long', 'InvalidFact'],
      ['ok', 'blob', 'InvalidFact'],
      ['ok', 'nan', 'InvalidFact'],
      ['ok', 'tier', 'DuplicateFact'],
    ]);
    expect(r.problems[4]!.message).toBe('value is not a finite number (NaN or ±Infinity)');
    expect(r.problems[2]!.message).toContain('4096');
    // Problems carry names and reasons, never the values.
    expect(JSON.stringify(r.problems)).not.toContain('xxxx');
  });

  it.each([
    [['fact', 'value'], 'rows', /no column identity/],
    [['identity', 'value'], 'rows', /missing fact/],
    [['identity', 'fact'], 'rows', /missing value/],
    [['id', 'tier'], 'columns', /no column identity \(columns: id, tier\)/],
  ] as const)('refuses a result with columns %j (shape %s)', (columns, shape, message) => {
    expect(() => factsFromRows([], columns, shape)).toThrow(InvalidResultError);
    expect(() => factsFromRows([], columns, shape)).toThrow(message);
  });
});

describe('toFactValue', () => {
  it.each([
    ['text', 'text'],
    [42, 42],
    [-7, -7],
    [1.5, 1.5],
    [-0.25, -0.25],
    [2 ** 60, String(2 ** 60)],
    [Number.NaN, undefined],
    [10n, '10'],
    [true, true],
    [false, false],
    [new Date('2026-01-02T03:04:05Z'), '2026-01-02T03:04:05.000Z'],
    [{ a: 1 }, '{"a":1}'],
    [[1, 2], '[1,2]'],
    [Buffer.from('x'), undefined],
  ])('case %# converts', (input, out) => {
    expect(toFactValue(input)).toEqual(out);
  });
});
