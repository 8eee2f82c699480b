import type { FastifyInstance, preValidationAsyncHookHandler } from 'fastify';
import { sendError } from '../http/errors.ts';
import { SiteParam } from '../http/schemas.ts';
import type { LiveView } from '../live-view.ts';
import type { SiteMonitor } from '../site-monitor.ts';

export type SiteDetail = NonNullable<ReturnType<SiteMonitor['detail']>>;

/**
 * GET /api/v1/sites and /api/v1/sites/:site: the live picture of each site, with its `position`
 * ([latitude, longitude]) when its site file gives one (`positionOf`).
 */
export function registerSiteRoutes(
  app: FastifyInstance,
  view: LiveView,
  monitor: () => SiteMonitor,
  read: preValidationAsyncHookHandler,
  positionOf: (site: string) => readonly [number, number] | undefined = () => undefined,
  /** Adds what the engine does not keep (rain over 24 h, from the store) to the health detail. */
  enrich: (site: string, detail: SiteDetail) => Promise<unknown> = async (_site, detail) => detail,
): void {
  const placed = placedBy(positionOf);
  app.get(
    '/api/v1/sites',
    {
      preValidation: read,
      schema: {
        tags: ['sites'],
        summary: 'Every site: official level, data state, gateways, latest readings',
      },
    },
    async () => ({ sites: view.list().map(placed) }),
  );

  app.get<{ Params: { site: string } }>(
    '/api/v1/sites/:site',
    {
      preValidation: read,
      schema: { tags: ['sites'], summary: 'One site', params: SiteParam },
    },
    async (req, reply) => {
      const site = view.summary(req.params.site);
      if (!site) return sendError(reply, 'SG_ERR_NO_SITE', `no site ${req.params.site}`);
      return placed(site);
    },
  );

  app.get<{ Params: { site: string } }>(
    '/api/v1/sites/:site/health',
    {
      preValidation: read,
      schema: {
        tags: ['sites'],
        summary:
          'What the engine knows of a site: data state, per-sensor health, SWI, rain totals, forecasts',
        params: SiteParam,
      },
    },
    async (req, reply) => {
      const detail = monitor().detail(req.params.site);
      if (!detail) return sendError(reply, 'SG_ERR_NO_SITE', `no site ${req.params.site}`);
      return enrich(req.params.site, detail);
    },
  );
}

/** A site summary with its `position` from its site file, when it has one (API and socket snapshot). */
export function placedBy(positionOf: (site: string) => readonly [number, number] | undefined) {
  return <T extends { id: string }>(s: T) => {
    const position = positionOf(s.id);
    return position ? { ...s, position } : s;
  };
}
