import type { FastifyInstance } from 'fastify';
import type { LiveView } from '../live-view.ts';

/** GET /api/v1/sites and /api/v1/sites/:site: the live picture of each site. */
export function registerSiteRoutes(app: FastifyInstance, view: LiveView): void {
  app.get('/api/v1/sites', async () => ({ sites: view.list() }));

  app.get<{ Params: { site: string } }>(
    '/api/v1/sites/:site',
    {
      schema: {
        params: {
          type: 'object',
          properties: { site: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } },
        },
      },
    },
    async (req, reply) => {
      const site = view.summary(req.params.site);
      if (!site)
        return reply.code(404).send({ error: 'SG_ERR_NO_SITE', message: `no site ${req.params.site}` });
      return site;
    },
  );
}
