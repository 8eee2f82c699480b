import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { Level } from '../levels.ts';
import { SENSOR_KINDS, type SensorKind } from '../schemas/reading.ts';
import type { CleanState } from './clean.ts';
import { EngineError } from './errors.ts';
import type { MovementState } from './movement.ts';
import type { RainState } from './rain.ts';
import type { TrackState } from './rate-track.ts';
import type { HealthStatus, SensorRec } from './sensor.ts';

/**
 * The saved engine state: a versioned, closed TypeBox schema with readable field names, what
 * `state()` returns and `createEngine(config, saved)` accepts. Inside, the engine keeps short field
 * names on its hot path (engine.ts `Internal`); this file maps between the two, so the saved form
 * can be read (and checked) by people and other programs.
 *
 * Versions:
 * - 1: the internal shape saved as it was (short names), up to this schema. Migrated on load:
 *   renamed, fields added since filled with their neutral value, then checked like version 2.
 * - 2: this schema.
 * A state that fails the schema (wrong version, a missing or extra field, a wrong type, arrays of
 * inconsistent length) is refused with `EngineError` SG_ENGINE_STATE listing what is wrong: never
 * cast and trusted.
 */
const num = Type.Number();
const nul = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const nums = (maxItems: number) => Type.Array(num, { maxItems });
const closed = <T extends Record<string, TSchema>>(props: T, description?: string) =>
  Type.Object(props, { additionalProperties: false, ...(description ? { description } : {}) });
const LevelSchema = Type.Integer({ minimum: 0, maximum: 4 });
const MAX_RING = 1_000_000;

const Track = closed(
  {
    binMs: Type.Number({ exclusiveMinimum: 0 }),
    capacity: Type.Integer({ minimum: 1, maximum: MAX_RING }),
    newestBin: Type.Integer({ minimum: -1 }),
    counts: nums(MAX_RING),
    timeSums: nums(MAX_RING),
    valueSums: nums(MAX_RING),
  },
  'a rate track: readings averaged into bins aligned to the epoch (rate-track.ts)',
);

const Cleaning = closed(
  {
    acceptedTimes: nums(1000),
    acceptedValues: nums(1000),
    acceptedCount: Type.Integer({ minimum: 0 }),
    ringNext: Type.Integer({ minimum: 0 }),
    heldTimes: nums(1000),
    heldValues: nums(1000),
    heldWithRainOrMovement: Type.Boolean(),
    stepOffset: num,
  },
  'the outlier filter (clean.ts)',
);

const Movement = closed(
  {
    tracks: Type.Array(Track, { maxItems: 64 }),
    rates: Type.Array(nul(num), { maxItems: 64 }),
    rateSpansMs: nums(64),
    forecast: closed({
      times: nums(1000),
      velocities: nums(1000),
      fit: nul(closed({ failureAt: num, r2: num, points: Type.Integer({ minimum: 0 }), spanMs: num })),
    }),
    level: LevelSchema,
    recentTimes: nums(64),
    recentValues: nums(64),
    spanRate: nul(num),
    spanMs: num,
    baseline: nul(num),
    lastValue: num,
  },
  'rule state of a tilt sensor or extensometer (movement.ts)',
);

const Rain = closed(
  {
    bins: nums(MAX_RING),
    newestBin: Type.Integer({ minimum: -1 }),
    sum1h: num,
    sum3h: num,
    sum12h: num,
    sumDry: num,
    tanks: Type.Tuple([num, num, num]),
    eventStart: nul(num),
    eventLastWet: num,
    eventMm: num,
    level: LevelSchema,
  },
  'rule state of a rain gauge (rain.ts)',
);

const STATUSES = [
  'waiting',
  'ok',
  'stale',
  'clock_ahead',
  'out_of_range',
  'stuck',
  'stepped',
  'spiking',
] as const;

const Sensor = closed({
  id: Type.String({ maxLength: 200 }),
  kind: Type.Union(SENSOR_KINDS.map((k) => Type.Literal(k))),
  lastReadingAt: nul(num),
  recentIntervalsMs: nums(16),
  intervalMs: Type.Number({ exclusiveMinimum: 0 }),
  readings: Type.Integer({ minimum: 0 }),
  status: Type.Union(STATUSES.map((k) => Type.Literal(k))),
  statusSince: nul(num),
  outOfRangeNow: Type.Boolean(),
  identicalInARow: Type.Integer({ minimum: 0 }),
  lastValues: nums(16),
  spikeReadingNumbers: nums(1000),
  spikes: Type.Integer({ minimum: 0 }),
  steps: Type.Integer({ minimum: 0 }),
  quarantineUntil: nul(num),
  outOfOrder: Type.Integer({ minimum: 0 }),
  outOfRange: Type.Integer({ minimum: 0 }),
  future: Type.Integer({ minimum: 0 }),
  heldReading: nul(closed({ ts: num, values: Type.Record(Type.String({ maxLength: 32 }), num) })),
  aheadInARow: Type.Integer({ minimum: 0 }),
  unconfirmed: Type.Integer({ minimum: 0 }),
  movedAt: nul(num),
  level: LevelSchema,
  baseline: nul(nums(2)),
  cleaning: nul(Cleaning),
  movement: nul(Movement),
  rain: nul(Rain),
});

export const EngineStateSchema = closed(
  {
    v: Type.Literal(2),
    site: Type.String({ maxLength: 200 }),
    clock: nul(num),
    startedAt: nul(num),
    level: LevelSchema,
    triggerLevel: LevelSchema,
    rainLevel: LevelSchema,
    lastTriggerAt: Type.Array(nul(num), { minItems: 5, maxItems: 5 }),
    rainAt: nul(num),
    wetAt: nul(num),
    nextDeadline: nul(num),
    unknownSensorReadings: Type.Integer({ minimum: 0 }),
    invalidReadings: Type.Integer({ minimum: 0 }),
    sensors: Type.Array(Sensor, { maxItems: 1000 }),
  },
  'saved state of one site engine, version 2',
);
export type EngineState = Static<typeof EngineStateSchema>;
type SensorState = Static<typeof Sensor>;

/** The engine's working state (short names; see engine.ts). */
export interface Internal {
  v: 2;
  site: string;
  clock: number | null;
  start: number | null;
  level: Level;
  raw: Level;
  rain: Level;
  lastTrig: (number | null)[];
  rainAt: number | null;
  wetAt: number | null;
  next: number | null;
  unknown: number;
  invalid: number;
  sensors: SensorRec[];
}

const checker = TypeCompiler.Compile(EngineStateSchema);

const track = (t: TrackState) => ({
  binMs: t.binMs,
  capacity: t.cap,
  newestBin: t.head,
  counts: [...t.n],
  timeSums: [...t.st],
  valueSums: [...t.sv],
});
const cleaning = (c: CleanState) => ({
  acceptedTimes: [...c.wt],
  acceptedValues: [...c.wv],
  acceptedCount: c.wn,
  ringNext: c.wi,
  heldTimes: [...c.pt],
  heldValues: [...c.pv],
  heldWithRainOrMovement: c.pm,
  stepOffset: c.offset,
});
const movement = (m: MovementState) => ({
  tracks: m.tracks.map(track),
  rates: [...m.rates],
  rateSpansMs: [...m.spans],
  forecast: {
    times: [...m.forecast.t],
    velocities: [...m.forecast.v],
    fit: m.forecast.fit
      ? {
          failureAt: m.forecast.fit.tf,
          r2: m.forecast.fit.r2,
          points: m.forecast.fit.n,
          spanMs: m.forecast.fit.spanMs,
        }
      : null,
  },
  level: m.level,
  recentTimes: [...m.recentT],
  recentValues: [...m.recentV],
  spanRate: m.spanRate,
  spanMs: m.spanMs,
  baseline: m.base,
  lastValue: m.lastV,
});
const rain = (r: RainState) => ({
  bins: [...r.bins],
  newestBin: r.head,
  sum1h: r.sum1,
  sum3h: r.sum3,
  sum12h: r.sum12,
  sumDry: r.sumDry,
  tanks: [...r.tanks] as [number, number, number],
  eventStart: r.eventStart,
  eventLastWet: r.eventLastWet,
  eventMm: r.eventMm,
  level: r.level,
});

/** The saved form of the working state (a deep copy). */
export function toSaved(s: Internal): EngineState {
  return {
    v: 2,
    site: s.site,
    clock: s.clock,
    startedAt: s.start,
    level: s.level,
    triggerLevel: s.raw,
    rainLevel: s.rain,
    lastTriggerAt: [...s.lastTrig],
    rainAt: s.rainAt,
    wetAt: s.wetAt,
    nextDeadline: s.next,
    unknownSensorReadings: s.unknown,
    invalidReadings: s.invalid,
    sensors: s.sensors.map(
      (r): SensorState => ({
        id: r.id,
        kind: r.kind,
        lastReadingAt: r.lastTs,
        recentIntervalsMs: [...r.ivals],
        intervalMs: r.iv,
        readings: r.readings,
        status: r.status,
        statusSince: r.since,
        outOfRangeNow: r.oor,
        identicalInARow: r.same,
        lastValues: [...r.last],
        spikeReadingNumbers: [...r.spikeAt],
        spikes: r.spikes,
        steps: r.steps,
        quarantineUntil: r.quarantineUntil,
        outOfOrder: r.outOfOrder,
        outOfRange: r.outOfRange,
        future: r.future,
        heldReading: r.held ? { ts: r.held.ts, values: { ...r.held.values } } : null,
        aheadInARow: r.aheadRun,
        unconfirmed: r.unconfirmed,
        movedAt: r.movedAt,
        level: r.level,
        baseline: r.base ? [...r.base] : null,
        cleaning: r.clean ? cleaning(r.clean) : null,
        movement: r.move ? movement(r.move) : null,
        rain: r.rain ? rain(r.rain) : null,
      }),
    ),
  };
}

/** Arrays whose lengths the engine relies on (a schema cannot say "as long as that one"). */
function consistency(s: EngineState): string[] {
  const errors: string[] = [];
  s.sensors.forEach((r, i) => {
    const at = `/sensors/${i}`;
    const c = r.cleaning;
    if (c && (c.acceptedValues.length !== c.acceptedTimes.length || c.acceptedCount > c.acceptedTimes.length))
      errors.push(`${at}/cleaning: accepted times, values and count disagree`);
    if (
      c &&
      (c.heldValues.length !== c.heldTimes.length || c.ringNext >= Math.max(1, c.acceptedTimes.length))
    )
      errors.push(`${at}/cleaning: held times and values or the ring position disagree`);
    r.movement?.tracks.forEach((t, k) => {
      if ([t.counts, t.timeSums, t.valueSums].some((a) => a.length !== t.capacity))
        errors.push(`${at}/movement/tracks/${k}: arrays are not as long as the capacity`);
    });
    const m = r.movement;
    if (m && m.rates.length !== m.rateSpansMs.length) errors.push(`${at}/movement: rates and spans disagree`);
    if (m && m.forecast.times.length !== m.forecast.velocities.length)
      errors.push(`${at}/movement/forecast: times and velocities disagree`);
    if (m && m.recentTimes.length !== m.recentValues.length)
      errors.push(`${at}/movement: recent times and values disagree`);
    if (r.rain && r.rain.bins.length === 0) errors.push(`${at}/rain/bins: empty`);
  });
  return errors;
}

/** Checks a saved state of any known version and returns the working state; throws EngineError. */
export function fromSaved(input: unknown): Internal {
  if (typeof input !== 'object' || input === null || Array.isArray(input))
    throw new EngineError('SG_ENGINE_STATE', 'engine state is not an object');
  const version = (input as { v?: unknown }).v;
  let saved: unknown = input;
  if (version === 1) {
    try {
      saved = migrateV1(input as V1);
    } catch (err) {
      throw new EngineError('SG_ENGINE_STATE', 'version 1 engine state cannot be migrated', [
        (err as Error).message,
      ]);
    }
  } else if (version !== 2)
    throw new EngineError(
      'SG_ENGINE_STATE',
      `unsupported engine state version ${JSON.stringify(version)} (expected 1 or 2)`,
    );
  if (!checker.Check(saved)) {
    const errors = [...checker.Errors(saved)].slice(0, 20).map((e) => `${e.path || '/'}: ${e.message}`);
    throw new EngineError('SG_ENGINE_STATE', 'engine state does not match its schema', errors);
  }
  const s = saved as EngineState;
  const bad = consistency(s);
  if (bad.length > 0) throw new EngineError('SG_ENGINE_STATE', 'engine state is inconsistent', bad);
  return internal(structuredClone(s));
}

function internal(s: EngineState): Internal {
  return {
    v: 2,
    site: s.site,
    clock: s.clock,
    start: s.startedAt,
    level: s.level as Level,
    raw: s.triggerLevel as Level,
    rain: s.rainLevel as Level,
    lastTrig: s.lastTriggerAt,
    rainAt: s.rainAt,
    wetAt: s.wetAt,
    next: s.nextDeadline,
    unknown: s.unknownSensorReadings,
    invalid: s.invalidReadings,
    sensors: s.sensors.map(
      (r): SensorRec => ({
        id: r.id,
        kind: r.kind as SensorKind,
        lastTs: r.lastReadingAt,
        ivals: r.recentIntervalsMs,
        iv: r.intervalMs,
        ivMedian: false,
        readings: r.readings,
        status: r.status as HealthStatus,
        since: r.statusSince,
        oor: r.outOfRangeNow,
        same: r.identicalInARow,
        last: r.lastValues,
        spikeAt: r.spikeReadingNumbers,
        spikes: r.spikes,
        steps: r.steps,
        quarantineUntil: r.quarantineUntil,
        outOfOrder: r.outOfOrder,
        outOfRange: r.outOfRange,
        future: r.future,
        held: r.heldReading,
        aheadRun: r.aheadInARow,
        unconfirmed: r.unconfirmed,
        movedAt: r.movedAt,
        level: r.level as Level,
        base: r.baseline,
        clean: r.cleaning
          ? {
              wt: r.cleaning.acceptedTimes,
              wv: r.cleaning.acceptedValues,
              wn: r.cleaning.acceptedCount,
              wi: r.cleaning.ringNext,
              pt: r.cleaning.heldTimes,
              pv: r.cleaning.heldValues,
              pm: r.cleaning.heldWithRainOrMovement,
              offset: r.cleaning.stepOffset,
              slopes: null,
            }
          : null,
        move: r.movement
          ? {
              tracks: r.movement.tracks.map((t) => ({
                binMs: t.binMs,
                cap: t.capacity,
                head: t.newestBin,
                n: t.counts,
                st: t.timeSums,
                sv: t.valueSums,
                slot: 0,
                lo: Number.POSITIVE_INFINITY,
                hi: 0,
              })),
              rates: r.movement.rates,
              spans: r.movement.rateSpansMs,
              forecast: {
                t: r.movement.forecast.times,
                v: r.movement.forecast.velocities,
                fit: r.movement.forecast.fit
                  ? {
                      tf: r.movement.forecast.fit.failureAt,
                      r2: r.movement.forecast.fit.r2,
                      n: r.movement.forecast.fit.points,
                      spanMs: r.movement.forecast.fit.spanMs,
                    }
                  : null,
              },
              level: r.movement.level as Level,
              recentT: r.movement.recentTimes,
              recentV: r.movement.recentValues,
              spanRate: r.movement.spanRate,
              spanMs: r.movement.spanMs,
              base: r.movement.baseline,
              lastV: r.movement.lastValue,
            }
          : null,
        rain: r.rain
          ? {
              bins: r.rain.bins,
              head: r.rain.newestBin,
              sum1: r.rain.sum1h,
              sum3: r.rain.sum3h,
              sum12: r.rain.sum12h,
              sumDry: r.rain.sumDry,
              tanks: r.rain.tanks,
              eventStart: r.rain.eventStart,
              eventLastWet: r.rain.eventLastWet,
              eventMm: r.rain.eventMm,
              level: r.rain.level as Level,
              wetBin: null,
            }
          : null,
      }),
    ),
  };
}

/** The 60-minute sum (12 five-minute bins up to the newest), which version 1 did not keep. */
function lastHour(r: RainState): number {
  const cap = r.bins.length;
  let sum = 0;
  if (r.head >= 0)
    for (let k = 0; k < 12 && k < cap; k++) sum += r.bins[(((r.head - k) % cap) + cap) % cap] ?? 0;
  return sum;
}

/** Version 1: the working state as it was saved (short names), some fields not yet there. */
type V1 = Omit<Internal, 'v' | 'wetAt' | 'sensors'> & {
  v: 1;
  wetAt?: number | null;
  sensors: (Partial<SensorRec> & {
    move?: Partial<MovementState> | null;
    clean?: Partial<CleanState> | null;
  })[];
};

/**
 * Version 1 to 2: the same data renamed; fields added since version 1 (clock check, sparse
 * instruments) start neutral. Throws (caught above) on a shape too broken to rename; whatever it
 * produces is then checked against the version 2 schema.
 */
function migrateV1(v1: V1): EngineState {
  if (!Array.isArray(v1.sensors)) throw new Error('sensors is not a list');
  const sensors = v1.sensors.map((r) => {
    const move = r.move
      ? ({
          ...r.move,
          recentT: r.move.recentT ?? [],
          recentV: r.move.recentV ?? [],
          spanRate: r.move.spanRate ?? null,
          spanMs: r.move.spanMs ?? 0,
          base: r.move.base ?? null,
          lastV: r.move.lastV ?? 0,
        } as MovementState)
      : null;
    const clean = r.clean ? ({ ...r.clean, pm: r.clean.pm ?? false } as CleanState) : null;
    return {
      ...r,
      future: r.future ?? 0,
      held: r.held ?? null,
      aheadRun: r.aheadRun ?? 0,
      unconfirmed: r.unconfirmed ?? 0,
      movedAt: r.movedAt ?? null,
      move,
      clean,
      rain: r.rain ? { ...r.rain, sum1: r.rain.sum1 ?? lastHour(r.rain) } : null,
      base: r.base ?? null,
    } as SensorRec;
  });
  return toSaved({ ...v1, v: 2, wetAt: v1.wetAt ?? null, sensors } as Internal);
}
