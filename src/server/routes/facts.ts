/** Facts of one identity: read from the store, written through the API server with server-side apply. */
import { type Request, type Response, Router } from 'express';
import type { StoreReader } from '../../store/store.js';
import type { FactsChange, IdentityWriter } from '../../writes/identity-writer.js';
import { type Auth, authorize, userOf } from '../auth/middleware.js';
import { notFound } from '../errors.js';
import {
  FactsPatchBody,
  FactValueBody,
  parse,
  parseBool,
  parseFactKey,
  parseFactName,
  parseIdentity,
  parseIfMatch,
  parseNamespace,
} from '../validate.js';

export interface FactsRouteDeps {
  reader: StoreReader;
  auth: Auth;
  writer: IdentityWriter;
}

export function factsRouter(deps: FactsRouteDeps): Router {
  const r = Router({ mergeParams: true });
  const target = (params: Record<string, string>) => ({
    namespace: parseNamespace(params.ns),
    name: parseIdentity(params.id),
  });

  r.get('/', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    await authorize(deps.auth, res, { verb: 'get', resource: 'deploymentfacts', namespace, name });
    const facts = deps.reader.get(namespace, name)?.facts;
    if (!facts) throw notFound(`identity ${namespace}/${name} has no facts`);
    res.set('etag', `"${facts.generation}"`).json(facts.values);
  });

  /** A write with the request's ?force, If-Match and user, answered with the written facts and their ETag. */
  async function write(
    req: Request,
    res: Response,
    namespace: string,
    name: string,
    change: Pick<FactsChange, 'set' | 'remove'>,
  ) {
    const result = await deps.writer.writeFacts(namespace, name, {
      ...change,
      force: parseBool(req.query.force, 'force'),
      ifMatch: parseIfMatch(req.get('if-match')),
      origin: `user:${userOf(res).username}`,
    });
    res.status(result.visible ? 200 : 202).set('etag', `"${result.generation}"`);
    return result;
  }

  r.patch('/', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    await authorize(deps.auth, res, { verb: 'patch', resource: 'deploymentfacts', namespace, name });
    const body = parse(FactsPatchBody, req.body, 'body');
    for (const key of Object.keys(body)) parseFactKey(key);
    const set = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null)) as Record<
      string,
      string | number
    >;
    const remove = Object.entries(body)
      .filter(([, v]) => v === null)
      .map(([k]) => k);
    res.json((await write(req, res, namespace, name, { set, remove })).facts);
  });

  r.get('/:name', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    const fact = parseFactName(req.params.name);
    await authorize(deps.auth, res, { verb: 'get', resource: 'deploymentfacts', namespace, name });
    const facts = deps.reader.get(namespace, name)?.facts;
    if (!facts || !Object.hasOwn(facts.values, fact))
      throw notFound(`fact ${fact} not found in ${namespace}/${name}`);
    res.set('etag', `"${facts.generation}"`).json({ [fact]: facts.values[fact] });
  });

  r.put('/:name', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    const fact = parseFactName(req.params.name);
    await authorize(deps.auth, res, { verb: 'patch', resource: 'deploymentfacts', namespace, name });
    const { value } = parse(FactValueBody, req.body, 'body');
    await write(req, res, namespace, name, { set: { [fact]: value } });
    res.json({ [fact]: value });
  });

  r.delete('/:name', async (req, res) => {
    const { namespace, name } = target(req.params as Record<string, string>);
    const fact = parseFactName(req.params.name);
    await authorize(deps.auth, res, { verb: 'patch', resource: 'deploymentfacts', namespace, name });
    res.json((await write(req, res, namespace, name, { remove: [fact] })).facts);
  });

  return r;
}
