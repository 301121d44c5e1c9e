/**
 * Request bodies are read by the routes that want them (body.ts), after authorisation: the parser only lets every
 * content type through.
 */
import { appWide } from './app-wide.js';

export const lazyBodies = appWide((app, _opts, done) => {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, parsed) => parsed(null, undefined));
  done();
});
