import { describe, expect, it } from 'vitest';
import { WriteError } from './errors.js';
import { type CurrentSecrets, dataKeyInUse, planSecretPut, planSecretRemove } from './plan-secrets.js';

const entry = (name: string, secret: string, key = name) => ({ name, secretKeyRef: { name: secret, key } });
function current(entries: [ReturnType<typeof entry>, ('api' | 'gitops')[]][]): CurrentSecrets {
  const ours = new Set<string>();
  const others = new Map<string, string[]>();
  for (const [e, owners] of entries) {
    if (owners.includes('api')) ours.add(e.name);
    if (owners.includes('gitops')) others.set(e.name, ['kubectl']);
  }
  return { entries: entries.map(([e]) => e), ownership: { ours, others } };
}
const kind = (p: unknown) => (p instanceof WriteError ? p.kind : p);

describe('planSecretPut', () => {
  it("puts the first entry into a new identity's empty DeploymentSecrets", () => {
    expect(planSecretPut(current([]), undefined, 'token', 'flagops-app', false)).toEqual({
      op: 'put',
      entries: [entry('token', 'flagops-app')],
      secret: 'create',
      force: false,
    });
  });
  it("adds the entry to the API's own, creating the managed Secret", () => {
    const cur = current([
      [entry('a', 'flagops-app'), ['api']],
      [entry('db', 'db-creds'), ['gitops']],
    ]);
    expect(planSecretPut(cur, undefined, 'token', 'flagops-app', false)).toEqual({
      op: 'put',
      entries: [entry('a', 'flagops-app'), entry('token', 'flagops-app')],
      secret: 'create',
      force: false,
    });
  });
  it('refuses to take over a GitOps entry unless forced', () => {
    const cur = current([[entry('db', 'db-creds'), ['gitops']]]);
    expect(kind(planSecretPut(cur, { managed: true, ours: true }, 'db', 'flagops-app', false))).toBe(
      'Conflict',
    );
    expect(planSecretPut(cur, { managed: true, ours: true }, 'db', 'flagops-app', true)).toMatchObject({
      op: 'put',
      secret: 'patch',
    });
  });
  it('never writes into a Secret of that name that someone else made', () => {
    expect(
      kind(planSecretPut(current([]), { managed: false, ours: false }, 'token', 'flagops-app', true)),
    ).toBe('Conflict');
  });
  it("never writes into another identity's managed Secret of the same name", () => {
    expect(
      kind(planSecretPut(current([]), { managed: true, ours: false }, 'token', 'flagops-app', true)),
    ).toBe('Conflict');
  });
});

describe('planSecretRemove', () => {
  it('is a 404 for a missing entry', () => {
    expect(kind(planSecretRemove(current([]), 'x', 'flagops-app', false))).toBe('NotFound');
    expect(kind(planSecretRemove(undefined, 'x', 'flagops-app', false))).toBe('NotFound');
  });
  it('removes an API entry and names the managed data key to clean up', () => {
    const cur = current([
      [entry('a', 'flagops-app'), ['api']],
      [entry('b', 'flagops-app'), ['api']],
    ]);
    expect(planSecretRemove(cur, 'a', 'flagops-app', false)).toEqual({
      op: 'remove',
      entries: [entry('b', 'flagops-app')],
      update: false,
      dataKey: 'a',
      force: false,
    });
  });
  it('removes a GitOps entry only when forced, by an update', () => {
    const cur = current([[entry('db', 'db-creds'), ['gitops']]]);
    expect(kind(planSecretRemove(cur, 'db', 'flagops-app', false))).toBe('Conflict');
    expect(planSecretRemove(cur, 'db', 'flagops-app', true)).toEqual({
      op: 'remove',
      entries: [],
      update: true,
      force: true,
    });
  });
  it('removes an entry that no manager owns (managedFields cleared) by an update, not by leaving it out of an apply', () => {
    // Left out of the API's apply, an entry the API never owned stays: the DELETE would answer 200 and serve on.
    const cur = current([[entry('orphan', 'flagops-app'), []]]);
    expect(planSecretRemove(cur, 'orphan', 'flagops-app', false)).toMatchObject({
      op: 'remove',
      update: true,
    });
  });
  it('keeps a data key that another entry still references', () => {
    const entries = [entry('a', 'flagops-app', 'k'), entry('b', 'flagops-app', 'k')];
    expect(dataKeyInUse(entries.slice(1), 'flagops-app', 'k')).toBe(true);
    expect(dataKeyInUse([], 'flagops-app', 'k')).toBe(false);
  });
});
