import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSource } from '../src/token.js';

describe('TokenSource', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flagops-tokensource-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('re-reads a changed file at most every 5 s, or at once after invalidate()', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'one\n');
    let now = 0;
    const tokens = new TokenSource({
      token: undefined,
      tokenFile: file,
      tokenFileOptional: false,
      now: () => now,
    });
    expect(await tokens.get()).toBe('one');
    await writeFile(file, 'two-longer\n');
    now = 4_999;
    expect(await tokens.get()).toBe('one');
    now = 5_000;
    expect(await tokens.get()).toBe('two-longer');
    await writeFile(file, 'three\n');
    tokens.invalidate();
    expect(await tokens.get()).toBe('three');
  });

  it('treats a missing default file as "no token" and reports an explicit one once', async () => {
    const errors: string[] = [];
    const missing = join(dir, 'nope');
    const optional = new TokenSource({
      token: undefined,
      tokenFile: missing,
      tokenFileOptional: true,
      onError: (m) => errors.push(m),
    });
    expect(await optional.get()).toBeUndefined();
    expect(errors).toEqual([]);
    const explicit = new TokenSource({
      token: undefined,
      tokenFile: missing,
      tokenFileOptional: false,
      onError: (m) => errors.push(m),
    });
    expect(await explicit.get()).toBeUndefined();
    explicit.invalidate();
    expect(await explicit.get()).toBeUndefined();
    expect(errors).toHaveLength(1);
  });

  it('prefers a fixed token; an empty one means no header', async () => {
    expect(await new TokenSource({ token: 'abc', tokenFile: '/x', tokenFileOptional: false }).get()).toBe(
      'abc',
    );
    expect(
      await new TokenSource({ token: '', tokenFile: undefined, tokenFileOptional: true }).get(),
    ).toBeUndefined();
  });
});
