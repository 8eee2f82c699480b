import helmet from '@fastify/helmet';
import type { FastifyError, FastifyInstance } from 'fastify';
import { ApiError, sendError } from './errors.ts';
import { hostAllowed, originAllowed } from './hosts.ts';

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The HTTP boundary: Host allow-list (DNS rebinding), Origin check on state-changing requests,
 * security headers (CSP, frame-ancestors / X-Frame-Options, nosniff), and one error shape.
 */
export async function registerSecurity(
  app: FastifyInstance,
  allowedHosts: ReadonlySet<string>,
): Promise<void> {
  app.addHook('onRequest', async (req, reply) => {
    if (!hostAllowed(allowedHosts, req.headers.host)) return sendError(reply, 'SG_ERR_HOST');
    if (STATE_CHANGING.has(req.method) && !originAllowed(allowedHosts, req.raw))
      return sendError(reply, 'SG_ERR_ORIGIN');
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    // HSTS only makes sense over TLS; helmet would send it on plain HTTP too.
    strictTransportSecurity: false,
  });
  app.setNotFoundHandler((_req, reply) => sendError(reply, 'SG_ERR_NOT_FOUND'));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiError) return sendError(reply, err.code, err.message);
    if (err.validation) return sendError(reply, 'SG_ERR_BAD_REQUEST', err.message.slice(0, 300));
    if (err.statusCode === 413) return sendError(reply, 'SG_ERR_TOO_LARGE');
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return sendError(reply, 'SG_ERR_BAD_REQUEST', err.message.slice(0, 300));
    req.log.error({ err, url: req.url.slice(0, 200) }, 'request failed');
    return sendError(reply, 'SG_ERR_INTERNAL');
  });
}
