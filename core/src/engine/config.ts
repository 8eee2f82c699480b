import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Position } from '../schemas/position.ts';
import { Id, SensorKindSchema } from '../schemas/reading.ts';

/**
 * The site configuration: sensors plus optional overrides of every rule threshold. One schema gives
 * the static type, the validator and the defaults (see docs/alert-engine.md for the sources of each
 * default in docs/domain.md). Every object carries `default: {}` so that a file naming only the
 * sensors gets the whole rule set filled in.
 */

const num = (dflt: number, description: string, extra: Record<string, unknown> = {}) =>
  Type.Number({ default: dflt, description, ...extra });
const pos = (dflt: number, description: string) => num(dflt, description, { exclusiveMinimum: 0 });
const int = (dflt: number, min: number, description: string) =>
  Type.Integer({ default: dflt, minimum: min, description });
const obj = <T extends Record<string, TSchema>>(props: T, description: string) =>
  Type.Object(props, { default: {}, additionalProperties: false, description });

const Range = Type.Object(
  { min: Type.Number(), max: Type.Number() },
  { additionalProperties: false, description: 'valid range of each value field, in system units' },
);

export const SensorConfig = Type.Object(
  {
    id: Id,
    kind: SensorKindSchema,
    intervalMs: Type.Optional(
      Type.Integer({
        minimum: 100,
        maximum: 31 * 86_400_000,
        description:
          'expected sampling interval, up to 31 days (instruments read by hand); estimated from the readings when absent',
      }),
    ),
    range: Type.Optional(Range),
    baseline: Type.Optional(
      Type.Object(
        { x: Type.Number(), y: Type.Number() },
        { additionalProperties: false, description: 'tilt baseline in degrees; default: first reading' },
      ),
    ),
    stuckReadings: Type.Optional(
      Type.Integer({ minimum: 0, description: 'override of health.stuckReadings; 0 disables' }),
    ),
  },
  { additionalProperties: false },
);
export type SensorConfig = Static<typeof SensorConfig>;

const RainRules = obj(
  {
    level1: obj(
      { mm3h: pos(60, 'KMA 호우주의보'), mm12h: pos(110, 'KMA 호우주의보') },
      'level 1 on 3-h or 12-h rain',
    ),
    level2: obj(
      { mm3h: pos(90, 'KMA 호우경보'), mm12h: pos(180, 'KMA 호우경보') },
      'level 2 on 3-h or 12-h rain',
    ),
    intensityDuration: obj(
      {
        enabled: Type.Boolean({ default: true }),
        a: pos(9.64, 'I = a D^b, Kim et al. 2013'),
        b: num(-0.27, 'I = a D^b, Kim et al. 2013'),
        minHours: pos(4, 'validity of the fit'),
        maxHours: pos(76, 'validity of the fit'),
      },
      'level 1 when the current rain event exceeds I = a D^b',
    ),
    event: obj(
      {
        dryHours: pos(6, 'an event ends after this long with less than dryMm'),
        dryMm: pos(1, 'rain below which a dry spell ends an event'),
      },
      'rain event separation',
    ),
    swi: obj(
      {
        criticalMm: Type.Optional(
          Type.Number({ exclusiveMinimum: 0, description: 'site-specific; no universal default' }),
        ),
        level: int(3, 1, 'level raised when the soil water index reaches criticalMm'),
      },
      'JMA three-tank soil water index',
    ),
    criticalLine: Type.Optional(
      Type.Object(
        {
          points: Type.Array(
            Type.Object(
              {
                swiMm: Type.Number({ minimum: 0, description: 'soil water index, mm' }),
                rain60Mm: Type.Number({ minimum: 0, description: '60-minute rain, mm' }),
              },
              { additionalProperties: false },
            ),
            { minItems: 2, maxItems: 32, description: 'the line, by soil water index ascending' },
          ),
          level: int(3, 1, 'level raised when the gauge is on or beyond the line'),
          cautionLevel: int(2, 1, 'level raised within the margins of the line'),
          marginSwiMm: num(10, 'caution margin along the soil water index', { minimum: 0 }),
          marginRain60Mm: num(5, 'caution margin along the 60-minute rain', { minimum: 0 }),
        },
        {
          additionalProperties: false,
          description:
            'site critical line (JMA sediment-disaster alert style): soil water index against 60-minute rain',
        },
      ),
    ),
  },
  'rain rules, per gauge; the site takes the highest healthy gauge',
);

const TiltRules = obj(
  {
    level1: obj(
      { degPerHour: pos(0.01, 'Uchimura et al. 2015'), sustainMinutes: pos(30, 'persistence') },
      'level 1 tilting rate',
    ),
    level2: obj(
      { degPerHour: pos(0.1, 'Uchimura et al. 2015'), sustainMinutes: pos(30, 'persistence') },
      'level 2 tilting rate',
    ),
  },
  'tilt rules on the magnitude of the two-axis change from the baseline',
);

const DisplacementRules = obj(
  {
    level1: obj(
      { mmPerDay: pos(1, 'JRA 2009 active slope'), windowHours: pos(24, 'rate window') },
      'level 1 slow creep',
    ),
    level2: obj(
      {
        mmPerDay: pos(10, 'JRA 2009'),
        windowHours: pos(24, 'window of mmPerDay'),
        mmPerHour: pos(2, 'caution, practice'),
        shortWindowHours: pos(1, 'window of mmPerHour'),
      },
      'level 2 creep',
    ),
    level3: obj(
      { mmPerHour: pos(2, 'JRA 2009 restrict entry'), sustainHours: pos(2, 'persistence') },
      'level 3 sustained creep',
    ),
    level4: obj(
      {
        mmPerHour: pos(10, 'evacuate, practice'),
        windowMinutes: pos(30, 'rate window'),
        forecastHours: pos(3, 'inverse-velocity time to failure'),
      },
      'level 4 rapid movement or imminent failure',
    ),
    span: obj(
      {
        minHours: pos(
          24,
          'sparse sensors: rate from the newest reading back to the newest one at least this long before it',
        ),
      },
      'rate of sparse sensors (interval >= health.sparseIntervalHours) against level1/level2 mmPerDay',
    ),
    cumulative: obj(
      {
        mm: Type.Optional(
          Type.Number({ exclusiveMinimum: 0, description: 'site-specific; no default (off when absent)' }),
        ),
        level: int(2, 1, 'level raised when the displacement since the first reading reaches mm'),
      },
      'cumulative displacement since the baseline (the first reading, steps removed)',
    ),
  },
  'displacement rules per extensometer or crack gauge',
);

const ForecastRules = obj(
  {
    binMinutes: pos(10, 'smoothing bins of the velocity series'),
    smoothBins: int(3, 1, 'velocity = change over this many bins (moving average)'),
    points: int(12, 3, 'velocity points in the fit'),
    minPoints: int(6, 3, 'fewest points for a forecast'),
    minR2: num(0.9, 'good linear fit of 1/v against time', { minimum: 0, maximum: 1 }),
    minMmPerHour: pos(0.5, 'displacement velocity below which no forecast is made'),
    minDegPerHour: pos(0.01, 'tilting rate below which no forecast is made'),
  },
  'inverse-velocity time-of-failure forecast (Fukuzono 1985)',
);

export const SiteConfig = Type.Object(
  {
    id: Id,
    name: Type.Optional(Type.String({ maxLength: 200 })),
    /** Where the site is, [latitude, longitude] (WGS 84): the map, and the default warning area. */
    position: Type.Optional(Position),
    sensors: Type.Array(SensorConfig, { minItems: 1, maxItems: 1000 }),
    rules: obj(
      {
        rain: RainRules,
        tilt: TiltRules,
        displacement: DisplacementRules,
        forecast: ForecastRules,
        corroboration: obj(
          {
            enabled: Type.Boolean({ default: true }),
            rainWindowHours: pos(6, 'rain level >= 1 within this long corroborates movement'),
          },
          'movement above level 2 needs a second movement sensor at >= 2 or rain at >= 1',
        ),
        holdDown: obj({ hours: pos(6, 'hold after the last trigger, per step') }, 'hold-down'),
      },
      'rule thresholds; every field defaults',
    ),
    rates: obj(
      {
        bins: int(6, 3, 'sub-intervals per rate window; the rate is the median of their rates'),
        minBins: int(4, 3, 'fewest non-empty sub-intervals for a rate; the window widens to find them'),
      },
      'robust rate estimation',
    ),
    health: obj(
      {
        staleIntervals: pos(3, 'stale after this many sampling intervals without a reading'),
        defaultIntervalMs: Type.Integer({ default: 3_600_000, minimum: 100 }),
        sparseIntervalHours: pos(
          6,
          'a sensor read this seldom or less is sparse: held values are judged by the next reading, rates by span',
        ),
        maxAheadMinutes: pos(
          60,
          'a reading further ahead of the site clock is held until another sensor or a tick confirms the time',
        ),
        stuckReadings: int(
          30,
          0,
          'identical readings in a row that mark a tilt or displacement sensor stuck',
        ),
        hampelWindow: int(7, 4, 'previous readings a new one is checked against'),
        hampelSigmas: pos(5, 'outlier when further than this many robust sigmas from the prediction'),
        spikeFloor: obj(
          { tilt: pos(0.005, 'deg'), displacement: pos(0.5, 'mm') },
          'smallest deviation ever called an outlier (quantised sensors have zero MAD)',
        ),
        stepConfirmReadings: int(3, 1, 'readings that must stay at a new level to call a step'),
        stepQuarantineMinutes: pos(60, 'a stepped sensor does not drive levels for this long'),
        spikingCount: int(3, 1, 'spikes within spikingWindowReadings that mark a sensor spiking'),
        spikingWindowReadings: int(50, 1, 'window of spikingCount'),
        ranges: obj(
          {
            rain: obj({ min: num(0, 'mm'), max: num(150, 'mm per reading') }, 'rain'),
            tilt: obj({ min: num(-30, 'deg'), max: num(30, 'deg') }, 'tilt x and y'),
            displacement: obj({ min: num(-1000, 'mm'), max: num(5000, 'mm') }, 'displacement'),
            pore_pressure: obj({ min: num(-100, 'kPa'), max: num(1000, 'kPa') }, 'pore pressure'),
            soil_moisture: obj({ min: num(0, '%'), max: num(100, '%') }, 'soil moisture'),
          },
          'default valid ranges per kind',
        ),
      },
      'sensor health',
    ),
  },
  { additionalProperties: false },
);
export type SiteConfig = Static<typeof SiteConfig>;
