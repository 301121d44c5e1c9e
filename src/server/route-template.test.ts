import { describe, expect, it } from 'vitest';
import { templateMatcher } from './route-template.js';

describe('templateMatcher', () => {
  const template = templateMatcher([
    '/api/v1/namespaces/:ns/identities/:id/facts',
    '/api/v1/namespaces/:ns/identities/:id/facts/:name',
    '/healthz',
  ]);
  it('maps concrete paths to their template, never keeping names', () => {
    expect(template('/api/v1/namespaces/prod/identities/customer-42/facts')).toBe(
      '/api/v1/namespaces/:ns/identities/:id/facts',
    );
    expect(template('/api/v1/namespaces/prod/identities/customer-42/facts/tier')).toBe(
      '/api/v1/namespaces/:ns/identities/:id/facts/:name',
    );
    expect(template('/healthz')).toBe('/healthz');
    expect(template('/api/v1/namespaces/prod/identities/customer-42/other')).toBe('unmatched');
  });
});
