/**
 * `https://app.example.com[:port]`: what a browser sends as Origin for a page of its own. An opaque origin
 * (`null`, from sandboxed frames, file: pages and some redirects) is not one: any page can send it.
 */
export function isOrigin(v: string): boolean {
  try {
    const u = new URL(v);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === v;
  } catch {
    return false;
  }
}
