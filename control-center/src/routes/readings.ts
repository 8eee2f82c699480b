import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, preValidationAsyncHookHandler } from 'fastify';
import type { Logger } from 'pino';
import { sendError } from '../http/errors.ts';
import { ErrorBody } from '../http/schemas.ts';
import { timeRange } from '../http/time-range.ts';
import { type ReadingStore, StoreTimeout, withTimeout } from '../store/reading-store.ts';

const ID = '^[a-z0-9][a-z0-9-]{0,62}$';

export const MAX_POINTS = 5000;
export const DEFAULT_POINTS = 500;

const Params = Type.Object({
  site: Type.String({ pattern: ID }),
  sensor: Type.String({ pattern: ID }),
});
const Query = Type.Object(
  {
    from: Type.Optional(
      Type.String({ maxLength: 40, description: 'ISO 8601 with a zone, or epoch ms; default to - 24 h' }),
    ),
    to: Type.Optional(
      Type.String({ maxLength: 40, description: 'ISO 8601 with a zone, or epoch ms; default now' }),
    ),
    points: Type.Integer({
      minimum: 1,
      maximum: MAX_POINTS,
      default: DEFAULT_POINTS,
      description: 'how many buckets the range is split into (at most)',
    }),
  },
  { additionalProperties: false },
);
const Stats = Type.Object({ min: Type.Number(), max: Type.Number(), mean: Type.Number() });
const Bucket = Type.Object({
  start: Type.Integer({ description: 'epoch ms; the bucket holds start <= ts < start + stepMs' }),
  count: Type.Integer({ description: 'readings in the bucket' }),
  // additionalProperties rather than a Record: OpenAPI 3.0 has no patternProperties.
  values: Type.Object({}, { additionalProperties: Stats, description: 'per value field' }),
});
export const RangeResponse = Type.Object({
  site: Type.String(),
  sensor: Type.String(),
  from: Type.Integer({ description: 'epoch ms, inclusive' }),
  to: Type.Integer({ description: 'epoch ms, inclusive' }),
  stepMs: Type.Integer({ description: 'bucket width' }),
  buckets: Type.Array(Bucket, { description: 'ascending; empty buckets are left out' }),
});
export type RangeResponse = Static<typeof RangeResponse>;

/** Bucket width for `points` buckets over [from, to] (both inclusive), the broker's bucketStep. */
export function stepFor(from: number, to: number, points: number): number {
  return Math.max(1, Math.ceil((to - from + 1) / points));
}

export interface ReadingRoutesOptions {
  store: () => ReadingStore | undefined;
  /** Whether the control center knows the site, and the sensor at it (live picture or site file). */
  known: (site: string, sensor: string) => 'ok' | 'no_site' | 'no_sensor';
  now: () => number;
  logger: Logger;
  read: preValidationAsyncHookHandler;
  /** How long a store query may take before the request gets 503 (default 10 s). */
  timeoutMs?: number;
}

/**
 * Store failures are logged once and then at most once a minute with how many were left out, so a
 * dashboard polling a dead InfluxDB does not flood the log.
 */
export function storeFailureLog(logger: Logger, now: () => number) {
  let last = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (err: unknown, what: string) => {
    const t = now();
    if (t - last < 60_000) {
      suppressed++;
      return;
    }
    logger.error(
      { err: err instanceof Error ? err.message : String(err), what, suppressed },
      'reading store failed',
    );
    last = t;
    suppressed = 0;
  };
}

/** GET /api/v1/sites/:site/sensors/:sensor/readings: a sensor's readings downsampled on the server. */
export function registerReadingRoutes(app: FastifyInstance, o: ReadingRoutesOptions): void {
  const failed = storeFailureLog(o.logger, o.now);
  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof Query> }>(
    '/api/v1/sites/:site/sensors/:sensor/readings',
    {
      preValidation: o.read,
      schema: {
        tags: ['sites'],
        summary: "A sensor's readings over a time range: min, max and mean per bucket and field",
        params: Params,
        querystring: Query,
        response: {
          200: RangeResponse,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply): Promise<RangeResponse | FastifyReply> => {
      const { site, sensor } = req.params;
      const { from, to } = timeRange(req.query, o.now());
      const known = o.known(site, sensor);
      if (known === 'no_site') return sendError(reply, 'SG_ERR_NO_SITE', `no site ${site}`);
      if (known === 'no_sensor')
        return sendError(reply, 'SG_ERR_NO_SENSOR', `no sensor ${sensor} at ${site}`);
      const store = o.store();
      if (!store)
        return sendError(reply, 'SG_ERR_STORE_UNAVAILABLE', 'this control center has no reading store');
      const stepMs = stepFor(from, to, req.query.points);
      try {
        const buckets = await withTimeout(
          store.range({ site, sensor, from, to, stepMs }),
          o.timeoutMs ?? 10_000,
        );
        return { site, sensor, from, to, stepMs, buckets };
      } catch (err) {
        failed(err, `range ${site}/${sensor}`);
        const why = err instanceof StoreTimeout ? 'the reading store did not answer in time' : undefined;
        return sendError(reply, 'SG_ERR_STORE_UNAVAILABLE', why);
      }
    },
  );
}

/** A site is known from its readings (the live picture) or its site file; a sensor likewise. */
export function knownSensor(
  view: { summary(site: string): { sensors: ReadonlyArray<{ sensor: string }> } | undefined },
  configOf: (site: string) => { sensors: ReadonlyArray<{ id: string }> } | undefined,
) {
  return (site: string, sensor: string): 'ok' | 'no_site' | 'no_sensor' => {
    const live = view.summary(site);
    const config = configOf(site);
    if (!live && !config) return 'no_site';
    if (live?.sensors.some((s) => s.sensor === sensor)) return 'ok';
    if (config?.sensors.some((s) => s.id === sensor)) return 'ok';
    return 'no_sensor';
  };
}
