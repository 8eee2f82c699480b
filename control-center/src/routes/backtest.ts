import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { LevelReasons, type Reading, type SensorKind, validateReading, validator } from '@slopeguard/core';
import type { SiteConfig } from '@slopeguard/core/engine/index.ts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import { type AuthContext, actorOf, auditRequest, guard } from '../http/auth.ts';
import { ApiError, sendError } from '../http/errors.ts';
import { ErrorBody, SiteParam } from '../http/schemas.ts';
import { parseTime } from '../http/time-range.ts';
import { type RawReading, type ReadingStore, StoreTimeout, withTimeout } from '../store/reading-store.ts';
import { MAX_CHANGES, replay, withOverrides } from './backtest-run.ts';
import { BACKTEST_THRESHOLDS } from './backtest-thresholds.ts';
import { storeFailureLog } from './readings.ts';

/**
 * POST /api/v1/sites/:site/backtest: the dashboard's backtest view. Replays the site's raw readings
 * over a past period (or readings the browser parsed from an uploaded backtest CSV) through the alert
 * engine twice, with the site's thresholds as they are and with the requested ones, and answers the
 * level changes of both. Runs here, not in the browser: the raw readings are here (a month of
 * one-second tilt is far too much to download), and it is the same engine code the gateway, the
 * control center and `slopeguard backtest` run (docs/dashboard.md, "Backtest").
 *
 * It changes nothing, so any signed-in role (and a read token) may run it; it is audited all the
 * same, and bounded: the period, the readings read or uploaded, the changes listed, and the runs per
 * user (rate and concurrency) and in all.
 */
export const BACKTEST_LIMITS = {
  /** Longest period, from `from` to `to`. */
  maxSpanMs: 31 * 86_400_000,
  /** Readings before `from` replayed so that the rules' windows (24 h at most) are full at `from`. */
  warmupMs: 86_400_000,
  /** Readings one run may read from the store, warm-up included (about a second of engine work). */
  maxReadings: 500_000,
  /** Readings one upload may carry. */
  maxUpload: 100_000,
  /** Body size of an upload (about 85 bytes per JSON reading). */
  bodyBytes: 12 * 1024 * 1024,
  /** Runs per user per minute, and at the same time. */
  perMinute: 6,
  concurrentPerUser: 1,
  /** Runs at the same time over all users (the machine has few cores; the engine runs on one). */
  concurrent: 2,
};
/** Raw readings per store page (the store contract's most: fewest queries, one page in memory at a time). */
const RAW_PAGE = 10_000;
/** A store without the raw reader is read in slices of this span per sensor (bounds one query). */
const SLICE_MS = 86_400_000;

const Overrides = Type.Object(
  Object.fromEntries(
    BACKTEST_THRESHOLDS.map((t) => [
      t.path,
      Type.Optional(
        // minimum rather than exclusiveMinimum 0: OpenAPI 3.0's exclusiveMinimum is a boolean.
        Type.Number({ minimum: 1e-6, maximum: t.max, description: `rules.${t.path}, ${t.unit}` }),
      ),
    ]),
  ),
  {
    additionalProperties: false,
    description: 'thresholds to try instead of the site file’s, by their path under rules',
  },
);
// The uploaded reading: the contract's Reading, written without patternProperties (OpenAPI 3.0 has
// none); each is then checked by the contract's own validator.
const UploadReading = Type.Object(
  {
    sensor: Type.String({ maxLength: 63 }),
    kind: Type.String({ maxLength: 32 }),
    ts: Type.Integer({ minimum: 0 }),
    values: Type.Object({}, { additionalProperties: Type.Number(), maxProperties: 16 }),
  },
  { additionalProperties: false },
);
const Body = Type.Object(
  {
    from: Type.Optional(
      Type.String({ maxLength: 40, description: 'ISO 8601 with a zone, or epoch ms; with the store' }),
    ),
    to: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601 with a zone, or epoch ms' })),
    readings: Type.Optional(
      Type.Array(UploadReading, {
        minItems: 1,
        maxItems: BACKTEST_LIMITS.maxUpload,
        description: 'instead of from/to: readings parsed from a backtest CSV (ts,sensor,kind,field,value)',
      }),
    ),
    overrides: Type.Optional(Overrides),
  },
  { additionalProperties: false },
);
type Body = Static<typeof Body>;

const Change = Type.Object({
  ts: Type.Integer(),
  level: Type.Integer(),
  previous: Type.Integer(),
  reasons: LevelReasons,
});
const Run = Type.Object({
  startLevel: Type.Integer({ description: 'level at from, after the warm-up' }),
  endLevel: Type.Integer(),
  highest: Type.Integer(),
  timeAtLevelMs: Type.Array(Type.Number(), { description: 'time at each level 0-4 within the period' }),
  changes: Type.Array(Change, { description: `level changes within the period, at most ${MAX_CHANGES}` }),
  truncated: Type.Boolean(),
});
const Result = Type.Object({
  site: Type.String(),
  source: Type.Union([Type.Literal('store'), Type.Literal('upload')]),
  from: Type.Integer(),
  to: Type.Integer(),
  warmupFrom: Type.Integer({ description: 'readings from here on were replayed (the warm-up before from)' }),
  readings: Type.Integer({ description: 'readings replayed' }),
  skipped: Type.Integer({
    description: 'uploaded readings refused (invalid, or a sensor not in the site file)',
  }),
  problems: Type.Array(Type.String(), { description: 'the first refused readings, why' }),
  sensors: Type.Array(Type.Object({ id: Type.String(), kind: Type.String(), readings: Type.Integer() })),
  overrides: Type.Object({}, { additionalProperties: Type.Number() }),
  current: Run,
  proposed: Run,
  elapsedMs: Type.Number(),
});

export type BacktestLimits = typeof BACKTEST_LIMITS;

/** Runs per user: at most `perMinute` started in any minute and `concurrentPerUser` at once. */
class RunLimiter {
  readonly #starts = new Map<string, number[]>();
  readonly #running = new Map<string, number>();
  #total = 0;
  readonly now: () => number;
  readonly limits: typeof BACKTEST_LIMITS;
  constructor(now: () => number, limits: typeof BACKTEST_LIMITS) {
    this.now = now;
    this.limits = limits;
  }
  /** 0 to go (then `end` must be called), else the seconds to wait. */
  begin(actor: string): number {
    const t = this.now();
    const recent = (this.#starts.get(actor) ?? []).filter((s) => s > t - 60_000);
    if (this.#starts.size > 10_000)
      for (const [k, v] of this.#starts) if (!v.some((s) => s > t - 60_000)) this.#starts.delete(k);
    if (
      (this.#running.get(actor) ?? 0) >= this.limits.concurrentPerUser ||
      this.#total >= this.limits.concurrent
    )
      return 5;
    if (recent.length >= this.limits.perMinute)
      return Math.max(1, Math.ceil(((recent[0] as number) + 60_000 - t) / 1000));
    recent.push(t);
    this.#starts.set(actor, recent);
    this.#running.set(actor, (this.#running.get(actor) ?? 0) + 1);
    this.#total++;
    return 0;
  }
  end(actor: string): void {
    const n = (this.#running.get(actor) ?? 1) - 1;
    if (n <= 0) this.#running.delete(actor);
    else this.#running.set(actor, n);
    this.#total = Math.max(0, this.#total - 1);
  }
}

export interface BacktestRouteOptions {
  auth: AuthContext;
  store: () => ReadingStore | undefined;
  /** The site's configuration with defaults filled in (its file, or the engine's own). */
  configOf: (site: string) => SiteConfig | undefined;
  now: () => number;
  logger: Logger;
  limits?: Partial<typeof BACKTEST_LIMITS>;
  /** How long one store slice may take before the request gets 503 (default 10 s). */
  timeoutMs?: number;
}

/**
 * TypeBox's compiled check for this route, not Fastify's default Ajv: that one strips unknown keys
 * (removeAdditional) instead of refusing them, and a misspelt threshold must be an error, never a
 * silent run with the site's own value.
 */
const strict = ({ schema }: { schema: unknown }) => {
  const check = validator(schema as TSchema);
  return (data: unknown) => {
    const r = check(data);
    return r.ok ? { value: r.value } : { error: new Error(r.errors.join('; ')) };
  };
};

export function registerBacktestRoutes(app: FastifyInstance, o: BacktestRouteOptions): void {
  const limits = { ...BACKTEST_LIMITS, ...o.limits };
  const limiter = new RunLimiter(o.now, limits);
  const failed = storeFailureLog(o.logger, o.now);
  // Refusals by the limiter are logged at most once a minute, with how many there were.
  let refusedLoggedAt = Number.NEGATIVE_INFINITY;
  let refused = 0;

  app.post<{ Params: { site: string }; Body: Body }>(
    '/api/v1/sites/:site/backtest',
    {
      preValidation: guard(o.auth, 'read', 'backtest.run'),
      bodyLimit: limits.bodyBytes,
      validatorCompiler: strict,
      schema: {
        tags: ['sites'],
        summary:
          "Replays a site's readings over a past period (or uploaded readings) with its thresholds and with changed ones",
        description: `Any signed-in role. At most ${limits.maxSpanMs / 86_400_000} days, ${limits.maxReadings} stored or ${limits.maxUpload} uploaded readings, ${limits.perMinute} runs a minute per user.`,
        params: SiteParam,
        body: Body,
        response: {
          200: Result,
          400: ErrorBody,
          401: ErrorBody,
          403: ErrorBody,
          404: ErrorBody,
          413: ErrorBody,
          429: ErrorBody,
          503: ErrorBody,
        },
      },
    },
    async (req, reply): Promise<Static<typeof Result> | FastifyReply> => {
      const { site } = req.params;
      const actor = actorOf(req.principal);
      const audit = (outcome: 'ok' | 'failed' | 'refused', detail: Record<string, unknown>) =>
        auditRequest(o.auth, req, { action: 'backtest.run', target: site, outcome, detail });
      const config = o.configOf(site);
      if (!config) {
        audit('failed', { error: 'SG_ERR_NO_SITE' });
        return sendError(reply, 'SG_ERR_NO_SITE', `no site file or engine for ${site}`);
      }
      const overrides = (req.body.overrides ?? {}) as Record<string, number>;
      const proposed = withOverrides(config, overrides);
      if (!proposed.ok) {
        audit('failed', { error: 'SG_ERR_BACKTEST_RULES' });
        return sendError(reply, 'SG_ERR_BACKTEST_RULES', proposed.errors.join('; ').slice(0, 500));
      }
      const wait = limiter.begin(actor);
      if (wait > 0) {
        refused++;
        const t = o.now();
        if (t - refusedLoggedAt >= 60_000) {
          o.logger.warn({ refused, site }, 'backtest runs refused by the rate limit');
          refusedLoggedAt = t;
          refused = 0;
        }
        audit('refused', { reason: 'rate' });
        reply.header('retry-after', String(wait));
        return sendError(reply, 'SG_ERR_RATE_LIMITED', `too many backtests; try again in ${wait} s`);
      }
      const started = performance.now();
      try {
        const input = req.body.readings
          ? fromUpload(config, req.body.readings)
          : await fromStore(site, config, req.body, limits, o, failed);
        const [current, changed] = await replay(
          [config, proposed.config],
          input.readings,
          input.from,
          input.to,
        );
        const counts = new Map<string, number>();
        for (const r of input.readings) counts.set(r.sensor, (counts.get(r.sensor) ?? 0) + 1);
        audit('ok', {
          from: input.from,
          to: input.to,
          source: input.source,
          readings: input.readings.length,
          overrides,
        });
        return {
          site,
          source: input.source,
          from: input.from,
          to: input.to,
          warmupFrom: input.warmupFrom,
          readings: input.readings.length,
          skipped: input.skipped,
          problems: input.problems,
          sensors: config.sensors.map((s) => ({ id: s.id, kind: s.kind, readings: counts.get(s.id) ?? 0 })),
          overrides,
          current: current as NonNullable<typeof current>,
          proposed: changed as NonNullable<typeof changed>,
          elapsedMs: Math.round(performance.now() - started),
        };
      } catch (err) {
        if (err instanceof ApiError) {
          audit('failed', { error: err.code });
          return sendError(reply, err.code, err.message);
        }
        throw err;
      } finally {
        limiter.end(actor);
      }
    },
  );
}

interface Input {
  source: 'store' | 'upload';
  from: number;
  to: number;
  warmupFrom: number;
  readings: Reading[];
  skipped: number;
  problems: string[];
}

/** The raw readings of every sensor of the site over [from - warm-up, to], or a coded refusal. */
async function fromStore(
  site: string,
  config: SiteConfig,
  body: Body,
  limits: typeof BACKTEST_LIMITS,
  o: BacktestRouteOptions,
  failed: (err: unknown, what: string) => void,
): Promise<Input> {
  if (body.from === undefined || body.to === undefined)
    throw new ApiError('SG_ERR_BAD_REQUEST', 'from and to are required (or readings)');
  const from = parseTime(body.from, 'from');
  // Not past the receiver's clock: a final tick in the future would call every sensor stale.
  const to = Math.min(parseTime(body.to, 'to'), o.now());
  if (from > to) throw new ApiError('SG_ERR_RANGE_ORDER', `from (${from}) is after to (${to})`);
  if (to - from > limits.maxSpanMs)
    throw new ApiError(
      'SG_ERR_BACKTEST_TOO_LONG',
      `the period spans ${Math.ceil((to - from) / 86_400_000)} days; a backtest may span at most ${limits.maxSpanMs / 86_400_000}`,
    );
  const store = o.store();
  if (!store) throw new ApiError('SG_ERR_STORE_UNAVAILABLE', 'this control center has no reading store');
  const warmupFrom = Math.max(0, from - limits.warmupMs);
  const readings: Reading[] = [];
  const timeoutMs = o.timeoutMs ?? 10_000;
  const refuse = (err: unknown, sensor: string): never => {
    failed(err, `backtest ${site}/${sensor}`);
    throw new ApiError(
      'SG_ERR_STORE_UNAVAILABLE',
      err instanceof StoreTimeout ? 'the reading store did not answer in time' : undefined,
    );
  };
  const tooMany = (more: number) => {
    if (readings.length + more > limits.maxReadings)
      throw new ApiError(
        'SG_ERR_BACKTEST_TOO_MANY',
        `over ${limits.maxReadings} readings in the period and its ${limits.warmupMs / 3_600_000} h warm-up; choose a shorter period`,
      );
  };
  const raw = store.readings?.bind(store);
  for (const s of config.sensors) {
    const kind = s.kind as SensorKind;
    if (raw) {
      // The store's raw reader: one page of one sensor per query, asked for when the last one is
      // taken, so a period over the bound stops at the page that crosses it.
      const pages = raw({ site, sensor: s.id, from: warmupFrom, to, pageSize: RAW_PAGE })[
        Symbol.asyncIterator
      ]();
      try {
        for (;;) {
          let page: IteratorResult<ReadonlyArray<RawReading>>;
          try {
            page = await withTimeout(pages.next(), timeoutMs);
          } catch (err) {
            return refuse(err, s.id);
          }
          if (page.done) break;
          tooMany(page.value.length);
          for (const r of page.value) readings.push({ sensor: s.id, kind, ts: r.ts, values: r.values });
        }
      } finally {
        // Ends the store's reading when this one stops early (too many, a timeout). Not awaited: after
        // a timeout it would wait for the page the store never gave.
        void pages.return?.()?.catch(() => undefined);
      }
      continue;
    }
    // A store without the raw reader (a partial store, as a test's wrapper): 1 ms buckets are the
    // raw readings too, since a reading's (sensor, ts) is unique; a day per query.
    for (let a = warmupFrom; a <= to; a += SLICE_MS) {
      const b = Math.min(to, a + SLICE_MS - 1);
      let buckets: Awaited<ReturnType<ReadingStore['range']>> = [];
      try {
        buckets = await withTimeout(
          store.range({ site, sensor: s.id, from: a, to: b, stepMs: 1 }),
          timeoutMs,
        );
      } catch (err) {
        refuse(err, s.id);
      }
      tooMany(buckets.length);
      for (const k of buckets) {
        const values: Record<string, number> = {};
        for (const [f, v] of Object.entries(k.values)) values[f] = v.mean;
        readings.push({ sensor: s.id, kind, ts: k.start, values });
      }
    }
  }
  return { source: 'store', from, to, warmupFrom, readings, skipped: 0, problems: [] };
}

/** Uploaded readings of the site's sensors; the others are counted and the first few named. */
function fromUpload(config: SiteConfig, rows: NonNullable<Body['readings']>): Input {
  const kinds = new Map(config.sensors.map((s) => [s.id, s.kind]));
  const readings: Reading[] = [];
  const problems: string[] = [];
  let skipped = 0;
  const skip = (i: number, why: string) => {
    skipped++;
    if (problems.length < 20) problems.push(`reading ${i + 1}: ${why}`.slice(0, 200));
  };
  for (const [i, row] of rows.entries()) {
    const v = validateReading(row);
    if (!v.ok) skip(i, v.errors.join('; '));
    else {
      const kind = kinds.get(v.value.sensor);
      if (kind === undefined) skip(i, `sensor ${v.value.sensor} is not in the site file`);
      else if (kind !== v.value.kind) skip(i, `sensor ${v.value.sensor} is ${kind} in the site file`);
      else readings.push(v.value);
    }
  }
  if (readings.length === 0)
    throw new ApiError('SG_ERR_BAD_REQUEST', `no reading of this site's sensors (${problems[0] ?? ''})`);
  let from = Number.POSITIVE_INFINITY;
  let to = 0;
  for (const r of readings) {
    if (r.ts < from) from = r.ts;
    if (r.ts > to) to = r.ts;
  }
  return { source: 'upload', from, to, warmupFrom: from, readings, skipped, problems };
}
