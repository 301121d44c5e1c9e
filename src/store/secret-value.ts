/**
 * The one module that holds resolved secret values. A value is wrapped so that logging, JSON serialisation and
 * util.inspect print `[REDACTED]`; only `reveal()` gives the plain text, and only the authorised HTTP route and
 * the resolver call it. Everything else sees key names, counts and a content hash.
 */
import { createHash } from 'node:crypto';
import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

export class SecretValue {
  readonly #value: string;

  private constructor(value: string) {
    this.#value = value;
  }

  /** Decodes one `data` entry of a Secret (base64). */
  static fromBase64(data: string): SecretValue {
    return new SecretValue(Buffer.from(data, 'base64').toString('utf8'));
  }

  static fromPlain(value: string): SecretValue {
    return new SecretValue(value);
  }

  reveal(): string {
    return this.#value;
  }

  equals(other: SecretValue): boolean {
    return this.#value === other.#value;
  }

  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

/** A hash of a set of values, so that a change can be detected and reported without the values. */
export function contentHash(values: ReadonlyMap<string, SecretValue>): string {
  const h = createHash('sha256');
  for (const key of [...values.keys()].sort()) {
    h.update(key).update('\0').update(values.get(key)!.reveal()).update('\0');
  }
  return h.digest('hex').slice(0, 16);
}

/** `{name: plain value}` for the single HTTP route that is allowed to reveal secrets. */
export function revealAll(values: ReadonlyMap<string, SecretValue>): Record<string, string> {
  // A null prototype: a key such as __proto__ must be an ordinary key, not a prototype write.
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of values) out[k] = v.reveal();
  return out;
}
