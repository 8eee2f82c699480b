import type { DatabaseSync } from 'node:sqlite';
import { Readable } from 'node:stream';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest, preValidationAsyncHookHandler } from 'fastify';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.ts';
import { actorOf } from '../http/auth.ts';
import { ApiError, sendError } from '../http/errors.ts';
import { ErrorBody } from '../http/schemas.ts';
import { timeRange } from '../http/time-range.ts';
import { storeFailureLog } from '../routes/readings.ts';
import { type ReadingStore, withTimeout } from '../store/reading-store.ts';
import { csvLine } from './csv.ts';
import { levelHistory } from './level-history.ts';

const ID = '^[a-z0-9][a-z0-9-]{0,62}$';
/** Buckets one store query covers: a day at one-minute resolution. */
const CHUNK_BUCKETS = 1440;
/** At most this many buckets per sensor in one export (a coarser stepMs serves longer spans). */
export const MAX_EXPORT_BUCKETS = 1_000_000;
/**
 * The longest span of one raw export: 31 days (a sensor sampled every second is 2.7 million
 * readings; longer records are exported month by month, or downsampled).
 */
export const MAX_RAW_SPAN_MS = 31 * 86_400_000;
/** Readings per store page in a raw export: what the export holds in memory per step. */
const RAW_PAGE = 1000;
/** The longest one store page may take before the export is cut off (or answered 503 before it starts). */
const PAGE_TIMEOUT_MS = 30_000;

const Params = Type.Object({ site: Type.String({ pattern: ID }) });
const Format = Type.Union([Type.Literal('csv'), Type.Literal('ndjson')], { default: 'csv' });
const Time = (d: string) => Type.Optional(Type.String({ maxLength: 40, description: d }));
const LevelsQuery = Type.Object(
  {
    from: Time('ISO 8601 with a zone, or epoch ms; default to - 24 h'),
    to: Time('ISO 8601 with a zone, or epoch ms; default now'),
    format: Format,
  },
  { additionalProperties: false },
);
const ReadingsQuery = Type.Object(
  {
    from: Time('ISO 8601 with a zone, or epoch ms; default to - 24 h'),
    to: Time('ISO 8601 with a zone, or epoch ms; default now'),
    format: Format,
    stepMs: Type.Integer({
      minimum: 1000,
      maximum: 86_400_000,
      default: 60_000,
      description: 'resolution: min, max and mean per field over buckets this wide',
    }),
    sensor: Type.Optional(Type.String({ pattern: ID, description: 'one sensor; default every sensor' })),
  },
  { additionalProperties: false },
);
const RawQuery = Type.Object(
  {
    from: Time('ISO 8601 with a zone, or epoch ms; default to - 24 h'),
    to: Time('ISO 8601 with a zone, or epoch ms; default now; at most 31 days after from'),
    format: Format,
    sensor: Type.Optional(Type.String({ pattern: ID, description: 'one sensor; default every sensor' })),
  },
  { additionalProperties: false },
);
const Streamed = (what: string) => ({
  description: `${what}, streamed (CSV with a header line, or one JSON object per line)`,
  content: {
    'text/csv': { schema: { type: 'string' } },
    'application/x-ndjson': { schema: { type: 'string' } },
  },
});
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody };

const iso = (ms: number) => new Date(ms).toISOString();

export interface OpenDataOptions {
  db: DatabaseSync;
  audit: AuditLog;
  store: () => ReadingStore | undefined;
  /** The sensors of a site (live picture and site file), sorted; undefined for an unknown site. */
  sensorsOf: (site: string) => string[] | undefined;
  now: () => number;
  logger: Logger;
  /** The guard: an `open-data` token (or any reader). */
  openData: preValidationAsyncHookHandler;
}

/**
 * Open data: a site's readings (downsampled, or raw over at most 31 days) and level history over a time range, as CSV or
 * NDJSON, streamed as they are read (one store query per sensor and day of buckets, one page of
 * history at a time), so an export of 400 days holds one chunk in memory. Every export is audited.
 */
export function registerOpenDataRoutes(app: FastifyInstance, o: OpenDataOptions): void {
  const failed = storeFailureLog(o.logger, o.now);
  const audit = (req: FastifyRequest, outcome: 'ok' | 'failed', detail: Record<string, unknown>) =>
    o.audit.append({
      actor: actorOf(req.principal),
      address: req.ip,
      action: 'open_data.export',
      target: (req.params as { site: string }).site,
      outcome,
      detail,
    });
  const send = (
    reply: FastifyReply,
    format: 'csv' | 'ndjson',
    name: string,
    lines: AsyncGenerator<string> | Generator<string>,
    // Chunks buffered ahead of the client: a raw export's chunks are whole store pages.
    highWaterMark = 16,
  ) =>
    reply
      .type(format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
      .header('content-disposition', `attachment; filename="${name}.${format}"`)
      .send(Readable.from(lines, { highWaterMark }));

  // A store that fails half-way cuts the response off (the client sees an incomplete transfer) and
  // the export is audited as failed, so nobody takes a truncated file for the whole record.
  const guarded = (req: FastifyRequest, kind: string, lines: AsyncGenerator<string>) =>
    (async function* () {
      try {
        yield* lines;
      } catch (err) {
        failed(err, `export ${(req.params as { site: string }).site}`);
        audit(req, 'failed', { kind, error: 'store failed during the export' });
        throw err;
      }
    })();

  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof LevelsQuery> }>(
    '/api/v1/open-data/sites/:site/levels',
    {
      preValidation: o.openData,
      schema: {
        tags: ['open-data'],
        summary: "A site's level history over a time range (CSV or NDJSON, streamed)",
        params: Params,
        querystring: LevelsQuery,
        response: { 200: Streamed('level and data-state changes, oldest first'), ...errors },
      },
    },
    async (req, reply) => {
      const { site } = req.params;
      const { from, to } = timeRange(req.query, o.now());
      if (!o.sensorsOf(site)) return sendError(reply, 'SG_ERR_NO_SITE', `no site ${site}`);
      const { format } = req.query;
      audit(req, 'ok', { kind: 'levels', format, from, to });
      const db = o.db;
      function* lines(): Generator<string> {
        if (format === 'csv')
          yield csvLine(['site', 'time', 'time_ms', 'alert', 'event', 'level', 'data_state']);
        for (const page of levelHistory(db, site, from, to))
          for (const c of page)
            yield format === 'csv'
              ? csvLine([site, iso(c.ts), c.ts, c.alert, c.event, c.level, c.dataState])
              : `${JSON.stringify({ site, ...c })}\n`;
      }
      return send(reply, format, `${site}-levels`, lines());
    },
  );

  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof ReadingsQuery> }>(
    '/api/v1/open-data/sites/:site/readings',
    {
      preValidation: o.openData,
      schema: {
        tags: ['open-data'],
        summary: "A site's readings over a time range, min/max/mean per bucket (CSV or NDJSON, streamed)",
        params: Params,
        querystring: ReadingsQuery,
        response: { 200: Streamed('one bucket of one sensor per object; one field per CSV line'), ...errors },
      },
    },
    async (req, reply) => {
      const { site } = req.params;
      const { format, stepMs } = req.query;
      const { from, to } = timeRange(req.query, o.now());
      if ((to - from + 1) / stepMs > MAX_EXPORT_BUCKETS)
        throw new ApiError(
          'SG_ERR_RANGE_TOO_LONG',
          `at most ${MAX_EXPORT_BUCKETS} buckets per sensor: use a larger stepMs for this span`,
        );
      const chosen = exportSensors(o, reply, site, req.query.sensor);
      if (!chosen) return reply;
      const sensors: string[] = chosen;
      const store = o.store();
      if (!store)
        return sendError(reply, 'SG_ERR_STORE_UNAVAILABLE', 'this control center has no reading store');
      // The first chunk before any byte is sent: a store that is down is a 503, not a cut-off file.
      const chunkMs = stepMs * CHUNK_BUCKETS;
      const chunk = (s: string, start: number) =>
        withTimeout(
          store.range({ site, sensor: s, from: start, to: Math.min(to, start + chunkMs - 1), stepMs }),
          30_000,
        );
      let first: Awaited<ReturnType<typeof chunk>>;
      try {
        first = sensors.length > 0 ? await chunk(sensors[0] as string, from) : [];
      } catch (err) {
        failed(err, `export ${site}`);
        return sendError(reply, 'SG_ERR_STORE_UNAVAILABLE');
      }
      audit(req, 'ok', { kind: 'readings', format, from, to, stepMs, sensors: sensors.length });
      async function* lines(): AsyncGenerator<string> {
        if (format === 'csv')
          yield csvLine([
            'site',
            'sensor',
            'start',
            'start_ms',
            'step_ms',
            'count',
            'field',
            'min',
            'max',
            'mean',
          ]);
        for (const [i, s] of sensors.entries()) {
          for (let start = from; start <= to; start += chunkMs) {
            const buckets = i === 0 && start === from ? first : await chunk(s, start);
            let out = '';
            for (const b of buckets) {
              if (format === 'ndjson') {
                out += `${JSON.stringify({ site, sensor: s, start: b.start, stepMs, count: b.count, values: b.values })}\n`;
                continue;
              }
              for (const [field, v] of Object.entries(b.values))
                out += csvLine([
                  site,
                  s,
                  iso(b.start),
                  b.start,
                  stepMs,
                  b.count,
                  field,
                  v.min,
                  v.max,
                  v.mean,
                ]);
            }
            if (out !== '') yield out;
          }
        }
      }
      return send(reply, format, `${site}-readings`, guarded(req, 'readings', lines()));
    },
  );

  registerRawExport(app, o, { failed, audit, send, guarded });
}

/**
 * The sensors an export covers: every sensor of the site, or the one asked for. Undefined when the
 * site or the sensor is unknown, the 404 then sent.
 */
function exportSensors(
  o: OpenDataOptions,
  reply: FastifyReply,
  site: string,
  sensor: string | undefined,
): string[] | undefined {
  const all = o.sensorsOf(site);
  if (!all) {
    sendError(reply, 'SG_ERR_NO_SITE', `no site ${site}`);
    return undefined;
  }
  if (sensor !== undefined && !all.includes(sensor)) {
    sendError(reply, 'SG_ERR_NO_SENSOR', `no sensor ${sensor} at ${site}`);
    return undefined;
  }
  return sensor === undefined ? all : [sensor];
}

/**
 * Raw readings, one store page (RAW_PAGE readings of one sensor) at a time. Readable.from asks the
 * generator for the next page only when the response has room (back-pressure): a client that reads
 * slowly holds the export on its page, never the whole range in memory.
 */
function registerRawExport(
  app: FastifyInstance,
  o: OpenDataOptions,
  h: {
    failed: ReturnType<typeof storeFailureLog>;
    audit: (req: FastifyRequest, outcome: 'ok' | 'failed', detail: Record<string, unknown>) => void;
    send: (
      reply: FastifyReply,
      format: 'csv' | 'ndjson',
      name: string,
      lines: AsyncGenerator<string>,
      highWaterMark?: number,
    ) => FastifyReply;
    guarded: (req: FastifyRequest, kind: string, lines: AsyncGenerator<string>) => AsyncGenerator<string>;
  },
): void {
  app.get<{ Params: Static<typeof Params>; Querystring: Static<typeof RawQuery> }>(
    '/api/v1/open-data/sites/:site/readings/raw',
    {
      preValidation: o.openData,
      schema: {
        tags: ['open-data'],
        summary: "A site's readings as stored, over at most 31 days (CSV or NDJSON, streamed)",
        params: Params,
        querystring: RawQuery,
        response: {
          200: Streamed('one reading per object, oldest first per sensor; one field per CSV line'),
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const { site } = req.params;
      const { format } = req.query;
      const { from, to } = timeRange(req.query, o.now());
      if (to - from > MAX_RAW_SPAN_MS)
        throw new ApiError(
          'SG_ERR_RANGE_TOO_LONG',
          `a raw export spans at most 31 days: export month by month, or downsampled (readings?stepMs=)`,
        );
      const chosen = exportSensors(o, reply, site, req.query.sensor);
      if (!chosen) return reply;
      const sensors: string[] = chosen;
      const store = o.store();
      const raw = store?.readings?.bind(store);
      if (!raw)
        return sendError(reply, 'SG_ERR_STORE_UNAVAILABLE', 'this control center has no raw reading store');
      const pagesOf = (s: string) =>
        raw({ site, sensor: s, from, to, pageSize: RAW_PAGE })[Symbol.asyncIterator]();
      const next = (it: ReturnType<typeof pagesOf>) => withTimeout(it.next(), PAGE_TIMEOUT_MS);
      // The first page before any byte is sent: a store that is down is a 503, not a cut-off file.
      const firstIt = sensors.length > 0 ? pagesOf(sensors[0] as string) : undefined;
      let first: Awaited<ReturnType<typeof next>> | undefined;
      try {
        first = firstIt ? await next(firstIt) : undefined;
      } catch (err) {
        h.failed(err, `raw export ${site}`);
        await firstIt?.return?.();
        return sendError(reply, 'SG_ERR_STORE_UNAVAILABLE');
      }
      h.audit(req, 'ok', { kind: 'readings_raw', format, from, to, sensors: sensors.length });
      async function* lines(): AsyncGenerator<string> {
        if (format === 'csv')
          yield csvLine([
            'site',
            'sensor',
            'kind',
            'gateway',
            'time',
            'time_ms',
            'quality',
            'field',
            'value',
          ]);
        for (const [i, s] of sensors.entries()) {
          const it = i === 0 && firstIt ? firstIt : pagesOf(s);
          try {
            for (let r = i === 0 && first ? first : await next(it); !r.done; r = await next(it)) {
              let out = '';
              for (const x of r.value) {
                if (format === 'ndjson') {
                  out += `${JSON.stringify({ site, sensor: s, kind: x.kind, gateway: x.gateway, ts: x.ts, ...(x.q !== undefined ? { q: x.q } : {}), values: x.values })}\n`;
                  continue;
                }
                for (const [field, v] of Object.entries(x.values))
                  out += csvLine([site, s, x.kind, x.gateway, iso(x.ts), x.ts, x.q, field, v]);
              }
              if (out !== '') yield out;
            }
          } finally {
            // A client gone (or a failure) ends the store's reading too.
            await it.return?.();
          }
        }
      }
      return h.send(reply, format, `${site}-readings-raw`, h.guarded(req, 'readings_raw', lines()), 1);
    },
  );
}

/** The sensors of a site from its live picture and its site file, sorted; undefined when unknown. */
export function sensorsOfSite(
  view: { summary(site: string): { sensors: ReadonlyArray<{ sensor: string }> } | undefined },
  configOf: (site: string) => { sensors: ReadonlyArray<{ id: string }> } | undefined,
) {
  return (site: string): string[] | undefined => {
    const live = view.summary(site);
    const config = configOf(site);
    if (!live && !config) return undefined;
    const ids = new Set([
      ...(live?.sensors ?? []).map((s) => s.sensor),
      ...(config?.sensors ?? []).map((s) => s.id),
    ]);
    return [...ids].sort();
  };
}
