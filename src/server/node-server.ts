/**
 * The node server under Fastify: plain HTTP or HTTPS with certificate reload, the limits that cut off slow clients,
 * and a drain for shutdown that lets keep-alive clients move to a replica that stays.
 */
import { readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
  type Server,
  ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { type AddressInfo, Server as NetServer } from 'node:net';
import type { FastifyServerFactory } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { reloadTlsOnChange } from './tls-reload.js';

/**
 * How long a keep-alive connection may stay idle while the server drains before it is closed. A client that is
 * still sending sends within it and is answered with `Connection: close`; one idle for this long is not using it.
 */
const DRAIN_IDLE_GRACE_MS = 1000;

/**
 * Node's server options that cut off slow clients: a client trickling its headers or body loses the socket after
 * the timeout (408), an idle keep-alive socket closes. Node checks these every connectionsCheckingInterval (30 s
 * by default, which let a trickle hold a socket for 90 s): check often enough for the timeouts to mean what they say.
 */
export function slowClientLimits(http: Config['http']) {
  return {
    headersTimeout: http.headersTimeoutMs,
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(http.headersTimeoutMs / 2))),
  };
}

export interface NodeServer {
  /** For Fastify's `serverFactory`. */
  readonly factory: FastifyServerFactory;
  /** Listens on --listen; the address (port resolved when 0 was asked for) and the base URL. */
  listen(): Promise<{ address: { host: string; port: number }; url: string }>;
  /** Stops accepting, ends `streams` (change feeds never finish by themselves), lets in-flight requests finish. */
  drain(streams: Iterable<ServerResponse>): Promise<void>;
}

export function nodeServer(config: Config, log: Logger, tlsReloadIntervalMs: number): NodeServer {
  let server: Server | undefined;
  let stopTlsReload: (() => void) | undefined;
  let draining = false; // set on drain(): responses then close their connections
  // While stopping, every response closes its connection: keep-alive clients (a Service keeps their connections
  // on this pod) then reconnect to a replica that stays, instead of holding the drain open until the shutdown
  // timeout cuts their requests off. Decided when the headers go out, so requests already under way are marked
  // too, at no cost per request.
  class DrainingResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
    override writeHead(
      statusCode: number,
      messageOrHeaders?: string | OutgoingHttpHeaders | OutgoingHttpHeader[],
      headers?: OutgoingHttpHeaders | OutgoingHttpHeader[],
    ): this {
      if (draining && !this.headersSent) this.setHeader('connection', 'close');
      // Node tells the two forms apart by the second argument's type.
      return super.writeHead(statusCode, messageOrHeaders as string | undefined, headers);
    }
  }
  const factory: FastifyServerFactory = (handler) => {
    const limits = { ...slowClientLimits(config.http), ServerResponse: DrainingResponse };
    if (config.tls) {
      const tlsServer = createTlsServer(
        { ...limits, cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) },
        handler,
      );
      stopTlsReload = reloadTlsOnChange(
        tlsServer,
        config.tls,
        log.child({ controller: 'tls' }),
        tlsReloadIntervalMs,
      );
      server = tlsServer;
    } else {
      server = createServer(limits, handler);
    }
    return server;
  };
  return {
    factory,
    async listen() {
      const http = server!;
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(config.listen.port, config.listen.host, () => resolve());
      });
      const address = { host: config.listen.host, port: (http.address() as AddressInfo).port };
      const hostForUrl =
        address.host === '0.0.0.0'
          ? '127.0.0.1'
          : address.host.includes(':')
            ? `[${address.host}]`
            : address.host;
      return { address, url: `${config.tls ? 'https' : 'http'}://${hostForUrl}:${address.port}` };
    },
    async drain(streams) {
      const http = server!;
      draining = true;
      // net.Server's close, not http.Server's: that one also closes idle keep-alive connections at once, and a
      // client sending its next request on one at that moment gets a reset instead of an answer. Instead each
      // connection's next response closes it, and the ones that stay idle for the grace are closed after it.
      const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(http, () => resolve()));
      for (const res of streams) res.end();
      const idle = setTimeout(() => http.closeIdleConnections(), DRAIN_IDLE_GRACE_MS);
      const timer = setTimeout(() => http.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearTimeout(idle);
      clearTimeout(timer);
      stopTlsReload?.();
    },
  };
}
