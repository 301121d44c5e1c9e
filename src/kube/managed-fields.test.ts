import { describe, expect, it } from 'vitest';
import type { ManagedFieldsEntry } from '../api/types.js';
import { FACTS_FIELDS, fieldKey, managedNode, ownership, SECRETS_FIELDS } from './managed-fields.js';

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

describe('ownership', () => {
  it('splits our Apply-owned keys from everyone else, ignoring status', () => {
    const own = ownership(
      [
        entry(ME, ['tier']),
        entry('gitops', ['region']),
        entry('kubectl-client-side-apply', ['tier'], 'Update'),
        { ...entry('flagops-data-store-operator', ['x']), subresource: 'status' },
        entry(ME, ['updated-by-me'], 'Update'),
      ],
      ME,
      FACTS_FIELDS,
    );
    expect([...own.ours]).toEqual(['tier']);
    expect(Object.fromEntries(own.others)).toEqual({
      region: ['gitops'],
      tier: ['kubectl-client-side-apply'],
      'updated-by-me': [ME],
    });
  });

  it('reads list-map entries by name', () => {
    const own = ownership(
      [
        {
          manager: 'flagops-data-store-api',
          operation: 'Apply',
          fieldsV1: { 'f:spec': { 'f:secrets': { 'k:{"name":"token"}': {}, '.': {} } } },
        },
        {
          manager: 'gitops',
          operation: 'Apply',
          fieldsV1: { 'f:spec': { 'f:secrets': { 'k:{"name":"db"}': {} } } },
        },
      ],
      'flagops-data-store-api',
      SECRETS_FIELDS,
    );
    expect([...own.ours]).toEqual(['token']);
    expect(Object.fromEntries(own.others)).toEqual({ db: ['gitops'] });
  });

  it('is empty without managedFields', () => {
    const own = ownership(undefined, ME, FACTS_FIELDS);
    expect(own.ours.size + own.others.size).toBe(0);
  });
});

describe('fieldKey and managedNode', () => {
  it('names map keys and list-map entries, nothing else', () => {
    expect(fieldKey('f:tier')).toBe('tier');
    expect(fieldKey('k:{"name":"db"}')).toBe('db');
    expect(fieldKey('k:{"port":80}')).toBeUndefined();
    expect(fieldKey('k:not json')).toBeUndefined();
    expect(fieldKey('.')).toBeUndefined();
  });

  it('skips subresources and entries without the path', () => {
    expect(managedNode({ ...entry(ME, ['a']), subresource: 'status' }, FACTS_FIELDS)).toBeUndefined();
    expect(managedNode({ manager: ME, fieldsV1: { 'f:metadata': {} } }, FACTS_FIELDS)).toBeUndefined();
    expect(managedNode(entry(ME, ['a']), FACTS_FIELDS)).toEqual({ 'f:a': {} });
  });
});
