import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeClient, RequestOptions } from '../kube/client.js';
import { FIRST_PAGE_LIMIT, LIST_PAGE_CHARS, PageLimit, ResourceCache } from './cache.js';
import type { ListPage } from './informer.js';
import { LIST_PAGE_SIZE } from './manager.js';

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string };
}

/**
 * A collection of `count` objects of `objectChars` characters of JSON each, served in pages as the API server does
 * (`limit`, `continue`). Each page tells the client its body length, as a real response does; the objects
 * themselves stay small, so that the test does not need gigabytes.
 */
function fakeClient(count: number, objectChars: (i: number) => number) {
  const pages: { limit: number; items: number; chars: number }[] = [];
  const client = {
    access: { server: 'http://fake.invalid', prepare: () => new Promise(() => {}) },
    get: async (_path: string, opts: RequestOptions = {}) => {
      const limit = Number(opts.query?.limit);
      const from = Number(opts.query?.continue ?? 0);
      const to = Math.min(count, from + limit);
      const items: Obj[] = [];
      let chars = 0;
      for (let i = from; i < to; i++) {
        items.push({ metadata: { name: `id-${i}`, namespace: 'ns', resourceVersion: '1' } });
        chars += objectChars(i);
      }
      pages.push({ limit, items: items.length, chars });
      opts.onResponseChars?.(chars);
      const page: ListPage<Obj> = {
        items,
        metadata: { resourceVersion: '1', ...(to < count ? { continue: String(to) } : {}) },
      };
      return page;
    },
  };
  return { client: client as unknown as KubeClient, pages };
}

async function listAll(count: number, objectChars: (i: number) => number) {
  const { client, pages } = fakeClient(count, objectChars);
  const cache = new ResourceCache<Obj>({
    client,
    resource: 'deploymentfacts',
    path: () => '/apis/x/v1/deploymentfacts',
    namespaces: [],
    log: pino({ level: 'silent' }),
    keep: (_o, key) => key as unknown as Obj,
    pageSize: LIST_PAGE_SIZE,
  });
  await cache.start();
  const listed = cache.list().length;
  await cache.stop();
  return { pages, listed };
}

describe('ResourceCache list pages', () => {
  it('asks for pages of 2,000 small objects (the restart path the page size was raised for)', async () => {
    const { pages, listed } = await listAll(20_000, () => 1_300);
    expect(listed).toBe(20_000);
    expect(pages[0]!.limit).toBe(FIRST_PAGE_LIMIT);
    expect(pages.slice(1).every((p) => p.limit === LIST_PAGE_SIZE)).toBe(true);
    expect(pages.length).toBe(11); // 100, then 9 × 2,000 and the rest
  });

  it('keeps a page of large DeploymentFacts (256 facts of 4,096 characters) within a JavaScript string', async () => {
    // 2,000 objects of 1.1 MB would be a 2.2 GB body: more than a string can hold (0x1fffffe8 characters), so
    // response.text() would fail on every retry and the informer would never sync.
    const { pages, listed } = await listAll(3_000, () => 1_100_000);
    expect(listed).toBe(3_000);
    expect(pages[0]!.items).toBeLessThanOrEqual(FIRST_PAGE_LIMIT);
    for (const p of pages.slice(1)) expect(p.chars).toBeLessThanOrEqual(LIST_PAGE_CHARS);
    expect(Math.max(...pages.map((p) => p.chars))).toBeLessThan(0x1fffffe8);
  });

  it('follows objects that grow and shrink along the list', async () => {
    const { pages, listed } = await listAll(12_000, (i) => (i < 6_000 ? 1_000 : 200_000));
    expect(listed).toBe(12_000);
    // The page where they turn large is as large as the page before allowed (no byte limit in a list request);
    // the pages after it are back within the budget.
    const large = pages.filter((p) => p.chars / p.items >= 200_000);
    expect(large.length).toBeGreaterThan(2);
    expect(large.slice(1).every((p) => p.chars <= LIST_PAGE_CHARS)).toBe(true);
  });
});

describe('PageLimit', () => {
  it('starts at the first-page limit, then fits the next page to the objects seen, within [10, max]', () => {
    const l = new PageLimit(2000, 1_000_000);
    expect(l.next(true)).toBe(100);
    l.observe(100, 100 * 100);
    expect(l.next(false)).toBe(2000);
    l.observe(2000, 2000 * 10_000);
    expect(l.next(false)).toBe(100);
    l.observe(100, 100 * 1_000_000);
    expect(l.next(false)).toBe(10);
    // A relist starts again no higher than the first-page limit.
    l.observe(10, 10);
    expect(l.next(true)).toBe(100);
    expect(new PageLimit(5).next(true)).toBe(5);
    const few = new PageLimit(5, 10);
    few.observe(5, 1_000_000);
    expect(few.next(false)).toBe(5);
  });
});
