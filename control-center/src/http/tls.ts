import { readFileSync } from 'node:fs';
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { FastifyInstance } from 'fastify';

/** PEM files of the HTTPS listener (`slopeguard certs server` makes them). */
export interface TlsFiles {
  cert: string;
  key: string;
}

/**
 * Fastify options for an HTTPS listener from certificate files, read once at start (a missing or
 * unreadable file fails the start, naming it). Fastify types its server as node:http's; an
 * https.Server serves the same request handler, so the factory's result is typed as one.
 */
export function httpsServerFactory(tls: TlsFiles) {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`http.tls.${what}: cannot read ${path}: ${(err as Error).message}`);
    }
  };
  const options = { cert: read('cert', tls.cert), key: read('key', tls.key) };
  return {
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void) =>
      createServer(options, handler) as unknown as HttpServer,
  };
}

/**
 * Over HTTPS, browsers are told to keep to HTTPS (HSTS, one year). Never sent over plain HTTP,
 * where it would be ignored or pin a host that cannot serve TLS.
 */
export function registerHsts(app: FastifyInstance): void {
  app.addHook('onSend', async (req, reply) => {
    if (req.protocol === 'https') reply.header('strict-transport-security', 'max-age=31536000');
  });
}
