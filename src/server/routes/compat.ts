/**
 * The Go prototype's routes, kept so that its clients (the flagops plugin's data-store provider calls
 * `GET <base>/api/fact/<identity>` and decodes a map of strings) keep working. Identities resolve in the default
 * namespace and values render as strings. Unlike the prototype, deleting one fact deletes only that fact, and
 * errors have a body.
 */
import { Router } from 'express';
import { z } from 'zod';
import { FactValue } from '../../api/facts.js';
import type { StoreReader } from '../../store/store.js';
import type { IdentityWriter } from '../../writes/identity-writer.js';
import { type Auth, authorize, userOf } from '../auth/middleware.js';
import { notFound } from '../errors.js';
import {
  FactValueBody,
  parse,
  parseBool,
  parseFactKey,
  parseFactName,
  parseIdentity,
  SecretValueBody,
} from '../validate.js';
import { secretValues } from './secrets.js';

export interface CompatRouteDeps {
  reader: StoreReader;
  auth: Auth;
  writer: IdentityWriter;
  defaultNamespace: string;
}

const asStrings = (m: Record<string, string | number>) =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));

export function compatRouter(deps: CompatRouteDeps): Router {
  const r = Router();
  const namespace = deps.defaultNamespace;
  const factsPerm = (verb: 'get' | 'patch' | 'delete', name: string) =>
    ({ verb, resource: 'deploymentfacts', namespace, name }) as const;
  const secretsPerm = (verb: 'get' | 'update', name: string) =>
    ({ verb, resource: 'deploymentsecrets', subresource: 'values', namespace, name }) as const;
  const origin = (res: Parameters<typeof userOf>[0]) => `user:${userOf(res).username}`;

  r.get('/identity', async (_req, res) => {
    await authorize(deps.auth, res, { verb: 'list', resource: 'deploymentfacts', namespace });
    const identities: Record<string, { facts: boolean; secrets: boolean }> = {};
    for (const i of deps.reader.list({ namespace }).items)
      identities[i.name] = { facts: !!i.facts, secrets: !!i.secrets };
    res.json({ identities });
  });

  // An identity without facts answers an empty map, as the prototype did, so that templating a new app works.
  r.get('/fact/:id', async (req, res) => {
    const id = parseIdentity(req.params.id);
    await authorize(deps.auth, res, factsPerm('get', id));
    res.json(asStrings(deps.reader.get(namespace, id)?.facts?.values ?? {}));
  });

  r.put('/fact/:id', async (req, res) => {
    const id = parseIdentity(req.params.id);
    await authorize(deps.auth, res, factsPerm('patch', id));
    const set = parse(z.record(z.string(), FactValue), req.body, 'body');
    for (const k of Object.keys(set)) parseFactKey(k);
    const result = await deps.writer.writeFacts(namespace, id, {
      set,
      force: parseBool(req.query.force, 'force'),
      origin: origin(res),
    });
    res.json(asStrings(result.facts));
  });

  r.delete('/fact/:id', async (req, res) => {
    const id = parseIdentity(req.params.id);
    await authorize(deps.auth, res, factsPerm('delete', id));
    await deps.writer.deleteFacts(namespace, id);
    res.json({});
  });

  r.get('/fact/:id/:name', async (req, res) => {
    const id = parseIdentity(req.params.id);
    const name = parseFactName(req.params.name);
    await authorize(deps.auth, res, factsPerm('get', id));
    const facts = deps.reader.get(namespace, id)?.facts?.values;
    if (!facts || !Object.hasOwn(facts, name)) throw notFound(`fact ${name} not found for ${id}`);
    res.json({ [name]: String(facts[name]) });
  });

  r.put('/fact/:id/:name', async (req, res) => {
    const id = parseIdentity(req.params.id);
    const name = parseFactName(req.params.name);
    await authorize(deps.auth, res, factsPerm('patch', id));
    const { value } = parse(FactValueBody, req.body, 'body');
    await deps.writer.writeFacts(namespace, id, {
      set: { [name]: value },
      force: parseBool(req.query.force, 'force'),
      origin: origin(res),
    });
    res.json({ [name]: String(value) });
  });

  r.delete('/fact/:id/:name', async (req, res) => {
    const id = parseIdentity(req.params.id);
    const name = parseFactName(req.params.name);
    await authorize(deps.auth, res, factsPerm('patch', id));
    const result = await deps.writer.writeFacts(namespace, id, {
      remove: [name],
      force: parseBool(req.query.force, 'force'),
      origin: origin(res),
    });
    res.json(asStrings(result.facts));
  });

  r.get('/secret/:id', async (req, res) => {
    const id = parseIdentity(req.params.id);
    await authorize(deps.auth, res, secretsPerm('get', id));
    res.set('cache-control', 'no-store').json(secretValues(deps.reader, namespace, id) ?? {});
  });

  r.get('/secret/:id/:name', async (req, res) => {
    const id = parseIdentity(req.params.id);
    const name = parseFactName(req.params.name);
    await authorize(deps.auth, res, secretsPerm('get', id));
    const values = secretValues(deps.reader, namespace, id);
    if (!values || !Object.hasOwn(values, name)) throw notFound(`secret ${name} not found for ${id}`);
    res.set('cache-control', 'no-store').json({ [name]: values[name] });
  });

  r.put('/secret/:id/:name', async (req, res) => {
    const id = parseIdentity(req.params.id);
    const name = parseFactName(req.params.name);
    await authorize(deps.auth, res, secretsPerm('update', id));
    const { value } = parse(SecretValueBody, req.body, 'body');
    await deps.writer.putSecret(namespace, id, name, value, {
      force: parseBool(req.query.force, 'force'),
      origin: origin(res),
    });
    res.json({ [name]: 'stored' });
  });

  r.delete('/secret/:id/:name', async (req, res) => {
    const id = parseIdentity(req.params.id);
    const name = parseFactName(req.params.name);
    await authorize(deps.auth, res, secretsPerm('update', id));
    await deps.writer.removeSecret(namespace, id, name, {
      force: parseBool(req.query.force, 'force'),
      origin: origin(res),
    });
    res.json({});
  });

  return r;
}
