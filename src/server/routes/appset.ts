/**
 * An Argo CD ApplicationSet plugin generator: `POST /api/v1/getparams.execute` answers one parameter set per
 * identity of a namespace, so that an ApplicationSet can stamp out one Application per customer with its facts.
 * Argo CD sends `{"applicationSetName", "input": {"parameters": {…}}}` with the token from the plugin's
 * ConfigMap as a bearer token (use a ServiceAccount token), and expects `{"output": {"parameters": [...]}}`.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { StoreReader } from '../../store/store.js';
import { type Auth, authorize } from '../auth/middleware.js';
import { NamespaceName, parse } from '../validate.js';

export const GetParamsBody = z.object({
  applicationSetName: z.string().max(253).optional(),
  input: z
    .object({
      parameters: z
        .object({
          /** Namespace of the identities; the default namespace when absent. */
          namespace: NamespaceName.optional(),
          /** Only identities whose name starts with this. */
          prefix: z.string().max(253).optional(),
          /** Only identities whose facts and secrets are Ready (default true). */
          readyOnly: z.boolean().optional(),
        })
        .strict()
        .optional(),
    })
    .optional(),
});

export function appsetRouter(deps: { reader: StoreReader; auth: Auth; defaultNamespace: string }): Router {
  const r = Router();
  r.post('/getparams.execute', async (req, res) => {
    const body = parse(GetParamsBody, req.body, 'body');
    const params = body.input?.parameters ?? {};
    const namespace = params.namespace ?? deps.defaultNamespace;
    await authorize(deps.auth, res, { verb: 'list', resource: 'deploymentfacts', namespace });
    const readyOnly = params.readyOnly ?? true;
    const parameters = deps.reader
      .list({ namespace, prefix: params.prefix })
      .items.filter((i) => i.facts && (!readyOnly || ((i.facts.ready ?? true) && (i.secrets?.ready ?? true))))
      .map((i) => ({ identity: i.name, namespace: i.namespace, facts: i.facts!.values }));
    res.json({ output: { parameters } });
  });
  return r;
}
