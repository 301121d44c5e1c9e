/**
 * The change feed's stream caps protect everyone: they apply after authentication and authorisation, and per
 * caller as well as per replica, so a crowd of anonymous clients cannot keep an authenticated one out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../support/api.js';
import {
  adminClient,
  newNamespace,
  serviceAccountWithRole,
  startTestOperator,
  type TestOperator,
} from '../support/cluster.js';

let ns: string;
let open: string;
let op: TestOperator;
let token: string;
const streams: Response[] = [];

beforeAll(async () => {
  ns = await newNamespace('streams');
  // A namespace whose change feed anonymous callers may watch (plain RBAC on system:unauthenticated).
  open = await newNamespace('streams-open');
  const client = adminClient();
  await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${open}/roles`, {
    metadata: { name: 'anon-watch' },
    rules: [{ apiGroups: ['flagops.io'], resources: ['deploymentfacts'], verbs: ['watch'] }],
  });
  await client.create(`/apis/rbac.authorization.k8s.io/v1/namespaces/${open}/rolebindings`, {
    metadata: { name: 'anon-watch' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'anon-watch' },
    subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:unauthenticated' }],
  });
  token = await serviceAccountWithRole(ns, 'reader', ROLES.factsReader);
  op = await startTestOperator({
    namespaces: [ns, open],
    extraArgs: ['--max-streams=20', '--max-streams-per-caller=5'],
  });
}, 60_000);
afterAll(async () => {
  await Promise.all(streams.map((s) => s.body?.cancel()));
  await op?.stop();
});

describe('change-feed stream caps', () => {
  it('a thousand anonymous stream attempts leave an authenticated client able to open a stream', async () => {
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 20; batch++) {
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          fetch(`${op.url}/api/v1/watch?namespace=${(batch * 50 + i) % 2 ? open : ns}`),
        ),
      );
      for (const res of responses) {
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) streams.push(res);
        else {
          if (res.status === 429) expect(res.headers.get('retry-after')).toBe('5');
          await res.body?.cancel();
        }
      }
    }
    // Where anonymous callers may not watch they are refused before they hold anything; where they may, all of
    // them together are one caller, held to the per-caller cap.
    expect(statuses.get(401)).toBe(500);
    expect(statuses.get(200)).toBe(5);
    expect(statuses.get(429)).toBe(495);
    const mine = await fetch(`${op.url}/api/v1/watch?namespace=${ns}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(mine.status).toBe(200);
    expect(mine.headers.get('content-type')).toContain('text/event-stream');
    streams.push(mine);
  });

  it('hides which namespaces are watched from callers who may not ask', async () => {
    const anonymous = await fetch(`${op.url}/api/v1/namespaces/kube-system/identities/x/facts`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.text()).not.toContain('not watched');
  });
});
