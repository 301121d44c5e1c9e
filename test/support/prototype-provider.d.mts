/** Types of prototype-provider.mjs (the flagops plugin's data-store provider's calls, replayed). */
export type Decoded =
  | { value: Record<string, string>; error?: undefined }
  | { error: string; value?: undefined };
export function joinPath(base: string, ...elems: string[]): URL;
export function goRequest(
  method: string,
  target: URL,
  body?: string,
): Promise<{ status: number; statusLine: string; text: string }>;
export function decodeStringMap(text: string): Decoded;
export function getMap(base: string, kind: 'fact' | 'secret', id: string): Promise<Decoded>;
export function evaluate(
  base: string,
  targetingKey: string,
): Promise<{ context: Record<string, string>; error?: undefined } | { error: string; context?: undefined }>;
export function setIdentityFact(
  base: string,
  id: string,
  key: string,
  value: string,
): Promise<{ error?: string }>;
