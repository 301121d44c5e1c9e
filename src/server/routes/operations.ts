/** Health, readiness, metrics and the OpenAPI document: public, for probes and scrapers. */
import { z } from 'zod';
import { notFound } from '../errors.js';
import { route } from '../route-spec.js';

const tags = ['operations'];
const Status = z.object({ status: z.string() });
const OK = Object.freeze({ status: 'ok' });
const NOT_READY = Object.freeze({ status: 'informers not synced' });

export const operationsRoutes = [
  route({
    method: 'GET',
    path: '/healthz',
    tags,
    summary: 'The process is alive',
    public: true,
    responses: { 200: { description: 'alive', schema: Status } },
    errors: [],
    handler: () => OK,
  }),
  route({
    method: 'GET',
    path: '/readyz',
    tags,
    summary: 'Every informer has synced',
    public: true,
    responses: {
      200: { description: 'ready', schema: Status },
      503: { description: 'not synced yet', schema: Status },
    },
    errors: [],
    handler: ({ deps, reply }) => {
      if (deps.ready()) return OK;
      reply.code(503);
      return NOT_READY;
    },
  }),
  route({
    method: 'GET',
    path: '/metrics',
    tags,
    summary: 'Prometheus metrics',
    public: true,
    responses: { 200: { description: 'text exposition format', contentType: 'text/plain' } },
    errors: [],
    handler: async ({ deps, reply }) => {
      if (!deps.metrics) throw notFound('no route for GET /metrics');
      reply.header('content-type', deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  }),
  route({
    method: 'GET',
    path: '/openapi.json',
    tags,
    summary: 'This document',
    public: true,
    responses: { 200: { description: 'the OpenAPI 3.1 document' } },
    errors: [],
    handler: ({ deps }) => deps.openapi(),
  }),
];
