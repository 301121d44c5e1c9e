/** --token-audiences: only tokens issued for the operator's audience are accepted. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectl } from '../control-plane/kubectl.js';
import { ROLES } from '../support/api.js';
import {
  call,
  controlPlane,
  newNamespace,
  serviceAccountWithRole,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';

let op: TestOperator;
let ns: string;
let apiServerToken: string;

beforeAll(async () => {
  ns = await newNamespace('audience');
  apiServerToken = await serviceAccountWithRole(ns, 'reader', ROLES.factsReader);
  op = await startTestOperator({ namespaces: [ns], extraArgs: ['--token-audiences=flagops-data-store'] });
});
afterAll(async () => {
  await op?.stop();
});

describe('token audiences', () => {
  it('accepts a token issued for the operator and refuses one issued for the API server', async () => {
    const r = await kubectl(controlPlane(), [
      'create',
      'token',
      'reader',
      '-n',
      ns,
      '--audience=flagops-data-store',
    ]);
    expect(r.code).toBe(0);
    const ours = r.stdout.trim();
    const path = `/api/v1/identities?namespace=${ns}`;
    expect((await call(op, 'GET', path, { token: ours })).status).toBe(200);
    const refused = await call(op, 'GET', path, { token: apiServerToken });
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain('invalid or expired');
  });
});
