/**
 * An Argo CD ApplicationSet plugin generator: `POST /api/v1/getparams.execute` answers one parameter set per
 * identity of a namespace, so that an ApplicationSet can stamp out one Application per customer with its facts.
 * Argo CD sends `{"applicationSetName", "input": {"parameters": {…}}}` with the token from the plugin's
 * ConfigMap as a bearer token (use a ServiceAccount token), and expects `{"output": {"parameters": [...]}}`.
 */
import { z } from 'zod';
import { FactMap, factsAsText } from '../../api/facts.js';
import { route } from '../route-spec.js';
import { NamespaceName } from '../validate.js';

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
type GetParamsBody = z.output<typeof GetParamsBody>;

const namespaceOf = (body: GetParamsBody, defaultNamespace: string) =>
  body.input?.parameters?.namespace ?? defaultNamespace;

export const appsetRoutes = [
  route({
    method: 'POST',
    path: '/api/v1/getparams.execute',
    tags: ['argocd'],
    summary: 'Argo CD ApplicationSet plugin generator: one parameter set per identity of a namespace',
    body: GetParamsBody,
    // The namespace is a body parameter. An unwatched one is a 404, never "no identities": Argo CD would delete
    // every Application the generator made.
    watchedNamespace: true,
    bodyPermission: {
      describe: 'list deploymentfacts in input.parameters.namespace (default: the default namespace)',
      of: (body, deps) => ({
        verb: 'list',
        resource: 'deploymentfacts',
        namespace: namespaceOf(body, deps.defaultNamespace),
      }),
    },
    responses: {
      200: {
        description: 'the parameter sets',
        schema: z.object({
          output: z.object({
            parameters: z.array(
              z.object({
                identity: z.string(),
                namespace: z.string(),
                facts: FactMap,
                factsText: z.record(z.string(), z.string()),
              }),
            ),
          }),
        }),
      },
    },
    errors: [400, 401, 403, 404, 413],
    handler: ({ body, deps }) => {
      const params = body.input?.parameters ?? {};
      const readyOnly = params.readyOnly ?? true;
      const parameters = deps.reader
        .list({ namespace: namespaceOf(body, deps.defaultNamespace), prefix: params.prefix })
        .items.filter(
          (i) => i.facts && (!readyOnly || ((i.facts.ready ?? true) && (i.secrets?.ready ?? true))),
        )
        .map((i) => ({
          identity: i.name,
          namespace: i.namespace,
          facts: i.facts!.values,
          // Argo CD reads a plugin's numbers as float64 and prints them with `%v` (templates and the selector
          // alike), so 1000000 becomes `1e+06`: `factsText.<name>` renders every value as written.
          factsText: factsAsText(i.facts!.values),
        }));
      return { output: { parameters } };
    },
  }),
];
