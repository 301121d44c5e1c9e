import { describe, expect, it } from 'vitest';
import { WriteError } from './errors.js';
import { planDelete } from './plan-delete.js';

const v = (uid: string) => ({ uid, resourceVersion: `rv-${uid}` });
const run = (...args: Parameters<typeof planDelete>) => {
  const p = planDelete(...args);
  return p instanceof WriteError ? p.kind : p.deletes.map((d) => `${d.target}@${d.preconditions.uid}`);
};

describe('planDelete', () => {
  const both = { facts: true, secrets: true };
  it('deletes nothing when the identity does not exist, not even an orphaned managed Secret', () => {
    expect(run({ managedSecret: v('m') }, both)).toBe('NotFound');
  });
  it('deletes every object it read, each guarded by the uid and resourceVersion read', () => {
    expect(run({ facts: v('f'), secrets: v('s'), managedSecret: v('m') }, both)).toEqual([
      'facts@f',
      'secrets@s',
      'managedSecret@m',
    ]);
    expect(planDelete({ facts: v('f') }, both)).toEqual({
      deletes: [{ target: 'facts', preconditions: v('f') }],
    });
  });
  it('refuses, deleting nothing, when secrets exist and the caller may not delete them', () => {
    expect(run({ facts: v('f'), secrets: v('s') }, { facts: true, secrets: false })).toBe('Forbidden');
  });
  it('deletes facts alone for a facts-only caller when there are no secrets, and leaves the managed Secret', () => {
    expect(run({ facts: v('f'), managedSecret: v('m') }, { facts: true, secrets: false })).toEqual([
      'facts@f',
    ]);
  });
  it('refuses a caller without delete on deploymentfacts when facts exist', () => {
    expect(run({ facts: v('f'), secrets: v('s') }, { facts: false, secrets: true })).toBe('Forbidden');
  });
});
