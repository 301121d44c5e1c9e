import { describe, expect, it } from 'vitest';
import { checkFactsChange, checkSecretValue } from './limits.js';

describe('checkFactsChange', () => {
  it('passes a valid change', () =>
    expect(checkFactsChange({ set: { a: 'x', b: 2 }, remove: ['c'] })).toBeUndefined());
  it('refuses more than 256 facts at once, naming the field', () => {
    const set = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`f${i}`, i]));
    expect(checkFactsChange({ set })).toMatchObject({ kind: 'Invalid', field: 'facts' });
  });
  it('refuses a bad name, an oversized value, a decimal and a lone surrogate, naming the fact', () => {
    expect(checkFactsChange({ set: { 'bad name': 1 } })).toMatchObject({ kind: 'Invalid' });
    expect(checkFactsChange({ set: { big: 'x'.repeat(4097) } })).toMatchObject({
      kind: 'Invalid',
      field: 'big',
    });
    expect(checkFactsChange({ set: { lone: 'a\ud800b' } })).toMatchObject({ kind: 'Invalid', field: 'lone' });
    expect(checkFactsChange({ remove: ['-x'] })).toMatchObject({ kind: 'Invalid' });
  });
  it('refuses a secret value holding a lone surrogate', () => {
    expect(checkSecretValue('k', '\udc00')).toMatchObject({ kind: 'Invalid', field: 'k' });
    expect(checkSecretValue('k', 'fine ✓')).toBeUndefined();
  });
});
