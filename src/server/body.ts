/**
 * Request bodies, read by the route only when it needs them: after authentication and authorisation, so an
 * unauthorised caller never gets a buffer to fill. Bodies are limited to --max-body-bytes (413, checked
 * against Content-Length before reading and against the bytes read), may be gzip, deflate or br encoded, and
 * JSON is decoded with JSON.parse: `__proto__` and `constructor` are ordinary keys.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { badRequest, HttpError, payloadTooLarge } from './errors.js';

const unsupported = (what: string) => new HttpError(415, 'UnsupportedMediaType', `unsupported ${what}`);

function decoded(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  switch (encoding) {
    case 'identity':
    case '':
      return req;
    case 'gzip':
    case 'x-gzip':
      return req.pipe(createGunzip());
    case 'deflate':
      return req.pipe(createInflate());
    case 'br':
      return req.pipe(createBrotliDecompress());
    default:
      throw unsupported('body encoding');
  }
}

/** The whole body, at most `limit` bytes after decoding. Event listeners, not an async iterator: cheaper. */
export function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) > limit) return Promise.reject(payloadTooLarge());
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  let stream: Readable;
  try {
    stream = decoded(req);
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err?: HttpError) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      req.off('close', onClose);
      if (stream !== req) stream.destroy();
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done(payloadTooLarge());
      else chunks.push(chunk);
    };
    const onEnd = () => done();
    const onError = () =>
      done(
        stream !== req
          ? badRequest('the request body could not be decoded')
          : badRequest('the request was aborted'),
      );
    // A client gone before its body was complete (a decoder may still be busy with a complete one).
    const onClose = () => {
      if (!req.complete) done(badRequest('the request was aborted'));
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    req.on('close', onClose);
  });
}

/** `application/json` and `application/<anything>+json`, any charset parameter given must be UTF-8. */
export function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  if (type !== 'application/json' && !(type.startsWith('application/') && type.endsWith('+json')))
    return false;
  if (semi >= 0) {
    const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') throw unsupported('charset');
  }
  return true;
}

/**
 * The JSON body: `undefined` when there is none, or (unless `anyType`) when the Content-Type is not JSON, as
 * the schema then says what is missing.
 */
export async function readJson(req: IncomingMessage, limit: number, anyType: boolean): Promise<unknown> {
  if (!isJson(req.headers['content-type']) && !anyType) return undefined;
  const raw = await readRaw(req, limit);
  if (raw.length === 0) return undefined;
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('the request body is not valid JSON');
  }
}
