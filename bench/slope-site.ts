import type { Reading } from '@slopeguard/core';
import { type SiteConfig, siteConfig } from '@slopeguard/core/engine/index.ts';
import {
  extensometer,
  HOUR,
  type RainSegment,
  rainGauge,
  type SensorModel,
  steadyCreep,
  tiltmeter,
} from '@slopeguard/simulators/scenarios/models.ts';

/**
 * The synthetic monitored slope that the engine benchmark and the backtest tests share: two rain
 * gauges under a storm every `stormEveryDays` (the second gauge catching `rain2Share` of the
 * first's rain), tilt sensors and extensometers with seeded noise, creeping steadily from
 * `creepFromDay`. The defaults are the benchmark's 10-sensor site (issue 3); tests pass a smaller
 * one. Storm n of day d lasts `stormHours(d)` hours at `stormMm(h)` mm in its hour h.
 */
export interface SlopeSiteOptions {
  id: string;
  days: number;
  seed: number;
  tilts: number;
  extensometers: number;
  firstStormDay: number;
  stormEveryDays: number;
  stormHours: (day: number) => number;
  stormMm: (hour: number) => number;
  rain2Share: number;
  creepFromDay: number;
  creepMmPerDay: number;
  /** Tilt (deg) per mm of creep, and the share of the creep extensometer i sees is i / extDivisor. */
  tiltPerMm: number;
  extDivisor: number;
}

export const DAY = 24 * HOUR;
/** Every slope site starts here (the noise is keyed from it, so a site is the same on any run). */
export const SLOPE_START = Date.UTC(2024, 0, 1);

const DEFAULTS: SlopeSiteOptions = {
  id: 'bench',
  days: 365,
  seed: 11,
  tilts: 4,
  extensometers: 4,
  firstStormDay: 3,
  stormEveryDays: 9,
  stormHours: (d) => 6 + (d % 25),
  stormMm: (h) => 5 + ((h * 7) % 25),
  rain2Share: 0.8,
  creepFromDay: 100,
  creepMmPerDay: 0.6,
  tiltPerMm: 0.002,
  extDivisor: 4,
};

export interface SlopeSite {
  config: SiteConfig;
  models: SensorModel[];
  /** Every sensor's reading at each step in [from, to), sensors in configuration order. */
  readings(from: number, to: number, stepMs: number): Generator<Reading>;
}

export function slopeSite(options: Partial<SlopeSiteOptions> = {}): SlopeSite {
  const o = { ...DEFAULTS, ...options };
  const noise = { seed: o.seed, origin: SLOPE_START };
  const storms: RainSegment[] = [];
  for (let d = o.firstStormDay; d < o.days; d += o.stormEveryDays)
    for (let h = 0; h < o.stormHours(d); h++)
      storms.push({
        from: SLOPE_START + d * DAY + h * HOUR,
        to: SLOPE_START + d * DAY + (h + 1) * HOUR,
        mm: o.stormMm(h),
      });
  const creep = steadyCreep(SLOPE_START + o.creepFromDay * DAY, o.creepMmPerDay);
  const count = (n: number) => Array.from({ length: n }, (_, k) => k + 1);
  const models: SensorModel[] = [
    rainGauge('rain-1', storms),
    rainGauge(
      'rain-2',
      storms.map((s) => ({ ...s, mm: s.mm * o.rain2Share })),
    ),
    ...count(o.tilts).map((i) =>
      tiltmeter(`tilt-${i}`, i, noise, [0.1 * i, -0.2 * i], i, (t) => o.tiltPerMm * creep(t)),
    ),
    ...count(o.extensometers).map((i) =>
      extensometer(`ext-${i}`, 10 + i, noise, 20 * i, (t) => (creep(t) * i) / o.extDivisor),
    ),
  ];
  const config = siteConfig({ id: o.id, sensors: models.map((m) => ({ id: m.id, kind: m.kind })) });
  function* readings(from: number, to: number, stepMs: number): Generator<Reading> {
    for (let ts = from; ts < to; ts += stepMs)
      for (const m of models) {
        const values = m.value(ts, stepMs);
        if (values) yield { sensor: m.id, kind: m.kind, ts, values };
      }
  }
  return { config, models, readings };
}
