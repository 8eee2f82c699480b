import type { SiteConfig } from '@slopeguard/core/engine/index.ts';
import type { FastifyInstance, preValidationAsyncHookHandler } from 'fastify';
import { sendError } from '../http/errors.ts';
import { SiteParam } from '../http/schemas.ts';

/**
 * GET /api/v1/sites/:site/rules: the thresholds the engine applies at a site (its site file with the
 * defaults filled in) and its sensors, so the dashboard draws the active thresholds on the charts
 * instead of a copy of the defaults that could drift from the engine's.
 */
export function registerSiteRuleRoutes(
  app: FastifyInstance,
  configOf: (site: string) => SiteConfig | undefined,
  read: preValidationAsyncHookHandler,
): void {
  app.get<{ Params: { site: string } }>(
    '/api/v1/sites/:site/rules',
    {
      preValidation: read,
      schema: {
        tags: ['sites'],
        summary: "A site's sensors and the rule thresholds its engine applies",
        params: SiteParam,
      },
    },
    async (req, reply) => {
      const c = configOf(req.params.site);
      if (!c) return sendError(reply, 'SG_ERR_NO_SITE', `no site file for ${req.params.site}`);
      return {
        site: c.id,
        sensors: c.sensors.map((s) => ({ id: s.id, kind: s.kind, baseline: s.baseline ?? null })),
        rules: c.rules,
      };
    },
  );
}
