import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
import { sendError } from '../http/errors.ts';
import type { LiveView } from '../live-view.ts';
import type { SiteMonitor } from '../site-monitor.ts';

/** GET /api/v1/sites and /api/v1/sites/:site: the live picture of each site. */
export function registerSiteRoutes(
  app: FastifyInstance,
  view: LiveView,
  monitor: () => SiteMonitor,
  read: preHandlerAsyncHookHandler,
): void {
  app.get('/api/v1/sites', { preHandler: read }, async () => ({ sites: view.list() }));

  app.get<{ Params: { site: string } }>(
    '/api/v1/sites/:site',
    {
      preHandler: read,
      schema: {
        params: {
          type: 'object',
          properties: { site: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } },
        },
      },
    },
    async (req, reply) => {
      const site = view.summary(req.params.site);
      if (!site) return sendError(reply, 'SG_ERR_NO_SITE', `no site ${req.params.site}`);
      return site;
    },
  );

  app.get<{ Params: { site: string } }>(
    '/api/v1/sites/:site/health',
    {
      preHandler: read,
      schema: {
        params: {
          type: 'object',
          properties: { site: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } },
        },
      },
    },
    async (req, reply) => {
      const detail = monitor().detail(req.params.site);
      if (!detail) return sendError(reply, 'SG_ERR_NO_SITE', `no site ${req.params.site}`);
      return detail;
    },
  );
}
