/** Concurrent secret and fact writes to one identity: none may drop another's key. */
import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api.js';
import { call } from '../support/cluster.js';

const fx = useApi('concurrent');

describe('concurrent writes', () => {
  it('keep every secret key when 8 PUTs race on a new identity', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const results = await Promise.all(
      keys.map((k) =>
        call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/race/secrets/${k}`, {
          token: fx.tokens.admin,
          body: { value: `v-${k}` },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(keys.map(() => 200));
    const got = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/race/secrets`, {
      token: fx.tokens.admin,
    });
    expect(got.body).toEqual(Object.fromEntries(keys.map((k) => [k, `v-${k}`])));
  });

  it('keep every fact when 8 PUTs race', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `f${i}`);
    const results = await Promise.all(
      keys.map((k, i) =>
        call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/race-facts/facts/${k}`, {
          token: fx.tokens.admin,
          body: { value: i },
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(keys.map(() => 200));
    const got = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/race-facts/facts`, {
      token: fx.tokens.admin,
    });
    expect(got.body).toEqual(Object.fromEntries(keys.map((k, i) => [k, i])));
  });

  it('keep the other keys when deletes race with puts', async () => {
    const results = await Promise.all([
      call(fx.op, 'DELETE', `/api/v1/namespaces/${fx.ns}/identities/race/secrets/k0`, {
        token: fx.tokens.admin,
      }),
      call(fx.op, 'DELETE', `/api/v1/namespaces/${fx.ns}/identities/race/secrets/k1`, {
        token: fx.tokens.admin,
      }),
      call(fx.op, 'PUT', `/api/v1/namespaces/${fx.ns}/identities/race/secrets/k8`, {
        token: fx.tokens.admin,
        body: { value: 'v-k8' },
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const got = await call(fx.op, 'GET', `/api/v1/namespaces/${fx.ns}/identities/race/secrets`, {
      token: fx.tokens.admin,
    });
    expect(Object.keys(got.body).sort()).toEqual(['k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8']);
  });
});
