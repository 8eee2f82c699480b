import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { CSRF_HEADER, SESSION_COOKIE } from './auth.ts';

/**
 * The OpenAPI 3 document, generated from the TypeBox schemas each route declares (one source for
 * validation, types and documentation): JSON at /docs/json, a UI at /docs. Registered before the
 * routes so that it sees them all; untagged routes (the static dashboard files) are left out.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Slopeguard control center API',
        version: '1',
        description: `Sign in with POST /api/v1/session (cookie ${SESSION_COOKIE}); send the returned CSRF token in the ${CSRF_HEADER} header of every state-changing request. Machines use an API token (Authorization: Bearer). Errors are { error: SG_ERR_..., message }.`,
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
    hideUntagged: true,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
}
