/** Maps a request path to its route template, so that metric labels never carry identity or fact names. */
export function templateMatcher(templates: readonly string[]): (path: string) => string {
  const compiled = templates.map((t) => ({
    template: t,
    re: new RegExp(`^${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[a-z]+/g, '[^/]+')}/?$`),
  }));
  return (path) => compiled.find((c) => c.re.test(path))?.template ?? 'unmatched';
}
