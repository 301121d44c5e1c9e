/**
 * Secret values of one identity. The only routes that reveal secret values, and only to callers allowed
 * `get deploymentsecrets/values` in the namespace.
 */
import { Router } from 'express';
import { revealAll } from '../../store/secret-value.js';
import type { StoreReader } from '../../store/store.js';
import type { IdentityWriter } from '../../writes/identity-writer.js';
import { type Auth, authorize, userOf } from '../auth/middleware.js';
import { notFound } from '../errors.js';
import {
  parse,
  parseBool,
  parseFactName,
  parseIdentity,
  parseNamespace,
  SecretValueBody,
} from '../validate.js';

export interface SecretsRouteDeps {
  reader: StoreReader;
  auth: Auth;
  writer: IdentityWriter;
}

/** `{name: value}` of an identity's resolved secrets, or undefined when it has none. Checks nothing: callers authorise. */
export function secretValues(
  reader: StoreReader,
  namespace: string,
  name: string,
): Record<string, string> | undefined {
  const secrets = reader.get(namespace, name)?.secrets;
  return secrets ? revealAll(secrets.values) : undefined;
}

export function secretsRouter(deps: SecretsRouteDeps): Router {
  const r = Router({ mergeParams: true });
  const target = (params: Record<string, string>) => ({
    namespace: parseNamespace(params.ns),
    name: parseIdentity(params.id),
  });
  const readPermission = (namespace: string, name: string) =>
    ({ verb: 'get', resource: 'deploymentsecrets', subresource: 'values', namespace, name }) as const;
  const writePermission = (namespace: string, name: string) =>
    ({ verb: 'update', resource: 'deploymentsecrets', subresource: 'values', namespace, name }) as const;

  r.get('/', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    await authorize(deps.auth, res, readPermission(namespace, name));
    const values = secretValues(deps.reader, namespace, name);
    if (!values) throw notFound(`identity ${namespace}/${name} has no secrets`);
    res.set('cache-control', 'no-store').json(values);
  });

  r.get('/:name', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    const key = parseFactName(req.params.name);
    await authorize(deps.auth, res, readPermission(namespace, name));
    const values = secretValues(deps.reader, namespace, name);
    if (!values || !Object.hasOwn(values, key))
      throw notFound(`secret ${key} not found in ${namespace}/${name}`);
    res.set('cache-control', 'no-store').json({ [key]: values[key] });
  });

  r.put('/:name', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    const key = parseFactName(req.params.name);
    await authorize(deps.auth, res, writePermission(namespace, name));
    const { value } = parse(SecretValueBody, req.body, 'body');
    const visible = await deps.writer.putSecret(namespace, name, key, value, {
      force: parseBool(req.query.force, 'force'),
      origin: `user:${userOf(res).username}`,
    });
    res.status(visible ? 200 : 202).json({ name: key, stored: true });
  });

  r.delete('/:name', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    const key = parseFactName(req.params.name);
    await authorize(deps.auth, res, writePermission(namespace, name));
    await deps.writer.removeSecret(namespace, name, key, {
      force: parseBool(req.query.force, 'force'),
      origin: `user:${userOf(res).username}`,
    });
    res.status(200).json({ name: key, deleted: true });
  });

  return r;
}
