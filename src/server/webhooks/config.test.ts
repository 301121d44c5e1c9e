import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../config.js';
import { loadWebhooksConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'flagops-webhooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const billing = (ns: string) =>
  `webhooks:\n  - name: billing\n    secretRef: { namespace: flagops-system, name: key, key: hmac }\n    namespaces: [${ns}]\n`;

describe('loadWebhooksConfig', () => {
  it('reads a valid file', () => {
    expect(loadWebhooksConfig(file('ok.yaml', billing('customers')), ['customers'])).toEqual([
      {
        name: 'billing',
        secretRef: { namespace: 'flagops-system', name: 'key', key: 'hmac' },
        namespaces: ['customers'],
      },
    ]);
    expect(loadWebhooksConfig(file('empty.yaml', ''))).toEqual([]);
  });

  it.each([
    ['a missing file', join(dir, 'nope.yaml'), [], 'cannot read webhooks config'],
    [
      'a bad name',
      file('bad.yaml', billing('customers').replace('billing', 'Billing')),
      [],
      'webhooks.0.name',
    ],
    [
      'duplicate names',
      file('dup.yaml', billing('a') + billing('b').replace('webhooks:\n', '')),
      [],
      'unique',
    ],
    ['an unknown field', file('extra.yaml', `${billing('a')}    color: red\n`), [], 'webhooks.0'],
    [
      'a namespace the operator does not watch',
      file('unwatched.yaml', billing('other')),
      ['customers'],
      'which --namespaces does not watch',
    ],
  ])('refuses %s with a ConfigError naming it', (_what, path, watched, message) => {
    expect(() => loadWebhooksConfig(path, watched)).toThrow(ConfigError);
    expect(() => loadWebhooksConfig(path, watched)).toThrow(message);
  });
});
