/** The name of the Secret that holds the values written through the API for one identity. */
import { createHash } from 'node:crypto';

/** `flagops-<identity>`, shortened with a hash when that would exceed the 253-character name limit. */
export function managedSecretName(identity: string): string {
  const name = `flagops-${identity}`;
  if (name.length <= 253) return name;
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 10);
  return `${name.slice(0, 242).replace(/[-.]+$/, '')}-${hash}`;
}
