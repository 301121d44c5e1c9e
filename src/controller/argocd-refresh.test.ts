import { describe, expect, it } from 'vitest';
import {
  type ApplicationMapping,
  type ApplicationMeta,
  applicationsFor,
  IDENTITY_ANNOTATION,
  parseIdentityAnnotation,
  trackingApplication,
} from './argocd-refresh.js';

const app = (namespace: string, name: string, follows?: string): ApplicationMeta => ({
  namespace,
  name,
  ...(follows === undefined ? {} : { annotations: { [IDENTITY_ANNOTATION]: follows, other: 'x' } }),
});
const targets = (
  identity: string,
  mapping: ApplicationMapping[],
  listed: ApplicationMeta[] | undefined,
): string[] => {
  const [namespace, name] = identity.split('/') as [string, string];
  return applicationsFor({ namespace, name }, { mapping, argocdNamespace: 'argocd' }, listed)
    .map((a) => `${a.namespace}/${a.name}`)
    .sort();
};

describe('parseIdentityAnnotation', () => {
  it.each([
    ['customers/customer-42', { namespace: 'customers', name: 'customer-42' }],
    [' customers/customer-42.eu ', { namespace: 'customers', name: 'customer-42.eu' }],
    ['customer-42', undefined],
    ['a/b/c', undefined],
    ['/customer-42', undefined],
    ['customers/', undefined],
    ['Customers/customer-42', undefined],
    ['cust.omers/customer-42', undefined], // namespaces are DNS labels: no dots
    ['customers/Customer_42', undefined],
    // Argo CD's instance form for an Application outside its namespace (ARGOCD_APP_NAME, the instance label)
    ['customers_customer-42', { namespace: 'customers', name: 'customer-42' }],
    ['customers_customer-42.eu', { namespace: 'customers', name: 'customer-42.eu' }],
    ['a_b_c', undefined],
    ['_customer-42', undefined],
    ['customers_', undefined],
    ['cust.omers_customer-42', undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseIdentityAnnotation(value)).toEqual(expected);
  });
});

describe('applicationsFor', () => {
  const listed = [
    app('argocd', 'customer-42'),
    app('argocd', 'customer-42-db', 'customers/customer-42'),
    app('team-a', 'web', 'customers/customer-42'),
    app('team-a', 'customer-43', 'staging/customer-43'),
    app('argocd', 'customer-43', 'customers/customer-43'),
    app('argocd', 'customer-44', 'not an identity'),
    app('argocd', 'unrelated'),
  ];

  it.each<[string, ApplicationMapping[], ApplicationMeta[] | undefined, string[]]>([
    // name (default): the Application named like the identity in the Argo CD namespace, whatever the identity's
    // namespace; without a list its existence is left to the patch.
    ['customers/customer-42', ['name'], undefined, ['argocd/customer-42']],
    ['staging/customer-42', ['name'], undefined, ['argocd/customer-42']],
    ['customers/nobody', ['name'], undefined, ['argocd/nobody']],
    // annotation: every Application annotated with exactly this identity, in any listed namespace.
    ['customers/customer-42', ['annotation'], listed, ['argocd/customer-42-db', 'team-a/web']],
    ['staging/customer-43', ['annotation'], listed, ['team-a/customer-43']],
    ['customers/customer-43', ['annotation'], listed, ['argocd/customer-43']],
    ['staging/customer-42', ['annotation'], listed, []],
    ['customers/nobody', ['annotation'], listed, []],
    // both: an annotated Application follows its annotation only, not its name.
    [
      'customers/customer-42',
      ['name', 'annotation'],
      listed,
      ['argocd/customer-42', 'argocd/customer-42-db', 'team-a/web'],
    ],
    ['staging/customer-43', ['name', 'annotation'], listed, ['team-a/customer-43']],
    ['customers/customer-43', ['name', 'annotation'], listed, ['argocd/customer-43']],
    ['customers/customer-44', ['name', 'annotation'], listed, []], // malformed annotation: follows nothing
    // with a list, an Application that does not exist is not asked for
    ['customers/nobody', ['name', 'annotation'], listed, []],
    ['other/unrelated', ['name', 'annotation'], listed, ['argocd/unrelated']],
    // the list failed: the name mapping still works
    ['customers/customer-42', ['name', 'annotation'], undefined, ['argocd/customer-42']],
  ])('%s with %j', (identity, mapping, list, expected) => {
    expect(targets(identity, mapping, list)).toEqual(expected);
  });

  it('names each Application once', () => {
    const twice = [app('argocd', 'customer-42', 'customers/customer-42')];
    expect(targets('customers/customer-42', ['name', 'annotation'], twice)).toEqual(['argocd/customer-42']);
  });
});

describe('applicationsFor with Argo CD apps in other namespaces', () => {
  const inAny = (identity: string, listed: ApplicationMeta[] | undefined) => {
    const [namespace, name] = identity.split('/') as [string, string];
    return applicationsFor(
      { namespace, name },
      { mapping: ['name', 'annotation'], argocdNamespace: 'argocd', applicationNamespaces: ['team-a'] },
      listed,
    )
      .map((a) => `${a.namespace}/${a.name}`)
      .sort();
  };
  const listed = [
    app('team-a', 'web'), // ARGOCD_APP_NAME team-a_web: identity web in team-a
    app('team-b', 'web'), // team-b is not an application namespace
    app('team-a', 'db', 'team-a_db-facts'), // the instance form in the annotation
    app('team-a', 'api', 'other/api'), // annotated for another identity: out of the name mapping
  ];

  it.each<[string, ApplicationMeta[] | undefined, string[]]>([
    ['team-a/web', listed, ['team-a/web']],
    ['team-b/web', listed, []], // only application namespaces hold Applications by the identity's own name
    ['team-a/db-facts', listed, ['team-a/db']],
    ['team-a/api', listed, []],
    ['other/api', listed, ['team-a/api']],
    // the list failed: both homes are asked, a missing one is a 404 on the patch
    ['team-a/web', undefined, ['argocd/web', 'team-a/web']],
    ['team-b/web', undefined, ['argocd/web']],
  ])('%s', (identity, list, expected) => {
    expect(inAny(identity, list)).toEqual(expected);
  });
});

describe('trackingApplication', () => {
  const identity = { namespace: 'customers', name: 'customer-42' };
  const opts = { argocdNamespace: 'argocd', applicationNamespaces: ['team-a'] };
  const id = (v: string) => ({ annotations: { 'argocd.argoproj.io/tracking-id': v } });
  const found = (meta: Parameters<typeof trackingApplication>[1]) => {
    const r = trackingApplication(identity, meta, opts);
    return r && `${r.namespace}/${r.name}`;
  };
  it.each<[string, Parameters<typeof trackingApplication>[1], string | undefined]>([
    ['annotation tracking', id('shop:flagops.io/DeploymentFacts:customers/customer-42'), 'argocd/shop'],
    [
      'an app in an application namespace',
      id('team-a_shop:flagops.io/DeploymentFacts:customers/customer-42'),
      'team-a/shop',
    ],
    [
      'an app in a namespace Argo CD has no apps in',
      id('team-b_shop:flagops.io/DeploymentFacts:customers/customer-42'),
      undefined,
    ],
    [
      'a tracking-id copied from another object',
      id('shop:flagops.io/DeploymentFacts:customers/customer-7'),
      undefined,
    ],
    ['a tracking-id of another kind', id('shop:apps/Deployment:customers/customer-42'), undefined],
    ['a malformed tracking-id', id('shop'), undefined],
    ['label tracking', { labels: { 'app.kubernetes.io/instance': 'shop' } }, 'argocd/shop'],
    [
      'the argocd.argoproj.io/instance label',
      { labels: { 'argocd.argoproj.io/instance': 'team-a_shop' } },
      'team-a/shop',
    ],
    // a tracking-id present decides, even when it is a copy: Argo CD tracks by it, not by the label
    [
      'a copied tracking-id and a label',
      { ...id('shop:flagops.io/DeploymentFacts:x/y'), labels: { 'app.kubernetes.io/instance': 'shop' } },
      undefined,
    ],
    ['no tracking', { labels: { other: 'x' } }, undefined],
    ['a label that is no object name', { labels: { 'app.kubernetes.io/instance': 'Shop!' } }, undefined],
  ])('%s', (_what, meta, expected) => {
    expect(found(meta)).toBe(expected);
  });
});
