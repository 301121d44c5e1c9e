/** An operator with Kubernetes auth and a few ServiceAccounts with typical roles, for API tests. */
import { afterAll, beforeAll } from 'vitest';
import { newNamespace, serviceAccountWithRole, startTestOperator, type TestOperator } from './cluster.js';

const FLAGOPS = 'flagops.io';

export const ROLES = {
  /** Everything the API offers in the namespace. */
  admin: [
    {
      apiGroups: [FLAGOPS],
      resources: ['deploymentfacts', 'deploymentsecrets'],
      verbs: ['get', 'list', 'watch', 'patch', 'delete'],
    },
    { apiGroups: [FLAGOPS], resources: ['deploymentsecrets/values'], verbs: ['get', 'update'] },
  ],
  factsReader: [{ apiGroups: [FLAGOPS], resources: ['deploymentfacts'], verbs: ['get', 'list', 'watch'] }],
  factsEditor: [
    { apiGroups: [FLAGOPS], resources: ['deploymentfacts'], verbs: ['get', 'list', 'watch', 'patch'] },
  ],
  secretsReader: [{ apiGroups: [FLAGOPS], resources: ['deploymentsecrets/values'], verbs: ['get'] }],
};

export interface ApiFixture {
  ns: string;
  op: TestOperator;
  tokens: { admin: string; factsReader: string; factsEditor: string; secretsReader: string };
}

/** Registers beforeAll/afterAll hooks; the fixture is filled in before the first test runs. */
export function useApi(
  prefix: string,
  opts: { extraArgs?: string[]; extraNamespaces?: number } = {},
): ApiFixture {
  const fx = {} as ApiFixture;
  beforeAll(async () => {
    fx.ns = await newNamespace(prefix);
    const extra: string[] = [];
    for (let i = 0; i < (opts.extraNamespaces ?? 0); i++) extra.push(await newNamespace(`${prefix}-x`));
    const [admin, factsReader, factsEditor, secretsReader] = await Promise.all([
      serviceAccountWithRole(fx.ns, 'admin', ROLES.admin),
      serviceAccountWithRole(fx.ns, 'facts-reader', ROLES.factsReader),
      serviceAccountWithRole(fx.ns, 'facts-editor', ROLES.factsEditor),
      serviceAccountWithRole(fx.ns, 'secrets-reader', ROLES.secretsReader),
    ]);
    fx.tokens = { admin, factsReader, factsEditor, secretsReader };
    fx.op = await startTestOperator({
      namespaces: [fx.ns, ...extra],
      defaultNamespace: fx.ns,
      extraArgs: opts.extraArgs,
    });
    (fx as ApiFixture & { extraNamespaces: string[] }).extraNamespaces = extra;
  }, 60_000);
  afterAll(async () => {
    await fx.op?.stop();
  });
  return fx;
}
