import { KIND_FIELDS, type Quality, type Reading, type SensorKind } from '@slopeguard/core';
import type { Calibration } from './config.ts';
import { round9 } from './round.ts';

/**
 * The last stage before a Reading leaves the bridge: range check on the device's own values,
 * tipping-bucket counts to millimetres since the previous reading, calibration, kind fields check.
 * Pure apart from the counter state it keeps between samples.
 */
export interface ConverterOptions {
  sensor: string;
  kind: SensorKind;
  calibration?: Calibration | undefined;
  /** Device measuring range per field, on device values before calibration. */
  range?: Record<string, readonly [number, number]> | undefined;
  /** Cumulative counter: which field, mm per count, modulus. */
  counter?: { field: string; mmPerCount: number; wrap?: number | undefined } | undefined;
}

export type Converted =
  | { ok: true; reading: Reading }
  /** `reason` for health; 'baseline' is the first counter sample, which has no increment yet. */
  | { ok: false; reason: 'baseline' | 'bad_value'; message: string };

/** Values that never belong in a Reading: they go to health. */
const HEALTH_FIELDS = new Set(['supply_v']);

export class SensorConverter {
  private readonly o: ConverterOptions;
  private lastCount: number | undefined;

  constructor(o: ConverterOptions) {
    this.o = o;
  }

  convert(device: Record<string, number>, ts: number): Converted {
    const { sensor, kind, calibration, range, counter } = this.o;
    let q: Quality = 'ok';
    const values: Record<string, number> = {};
    for (const [name, v] of Object.entries(device)) {
      if (!Number.isFinite(v))
        return { ok: false, reason: 'bad_value', message: `${name} is not a finite number` };
      const r = range?.[name];
      if (r && (v < r[0] || v > r[1])) q = 'suspect';
      if (!HEALTH_FIELDS.has(name)) values[name] = v;
    }
    if (counter) {
      const count = values[counter.field];
      delete values[counter.field];
      if (count === undefined) return { ok: false, reason: 'bad_value', message: `${counter.field} missing` };
      const inc = this.increment(count, counter.wrap);
      if (inc === undefined) return { ok: false, reason: 'baseline', message: 'first counter sample' };
      if (inc.reset) q = 'suspect';
      values.mm = inc.counts * counter.mmPerCount;
    }
    for (const [name, v] of Object.entries(values)) {
      const offset = calibration?.offset?.[name] ?? 0;
      const scale = calibration?.scale?.[name] ?? 1;
      const baseline = calibration?.baseline?.[name] ?? 0;
      values[name] = round9((v - offset) * scale - baseline);
    }
    for (const f of KIND_FIELDS[kind]) {
      if (values[f] === undefined) return { ok: false, reason: 'bad_value', message: `${kind} needs ${f}` };
    }
    const reading: Reading = { sensor, kind, ts, values };
    if (q !== 'ok') reading.q = q;
    return { ok: true, reading };
  }

  /**
   * Counts since the previous sample. A smaller count is either a wrap (the previous value was in
   * the top tenth of the modulus and the new one in the bottom tenth) or a reset (power cycle): then
   * the new count is what fell since the reset, and the reading is suspect because the tips between
   * the last sample and the reset are lost.
   */
  private increment(count: number, wrap: number | undefined): { counts: number; reset: boolean } | undefined {
    const prev = this.lastCount;
    this.lastCount = count;
    if (prev === undefined) return undefined;
    if (count >= prev) return { counts: count - prev, reset: false };
    if (wrap !== undefined && prev >= wrap * 0.9 && count < wrap * 0.1)
      return { counts: wrap - prev + count, reset: false };
    return { counts: count, reset: true };
  }
}

/**
 * How a rain sensor reports, from the names of its fields: `mm` is already an increment; `count`
 * is a cumulative tip counter (mm per tip from the sensor's counter config, 0.2 mm by default);
 * `total_mm` is a cumulative amount in mm (SDI-12 rain gauges, line nodes that keep a total).
 */
export function rainCounter(
  kind: SensorKind,
  fields: readonly string[],
  cfg: { mmPerCount?: number | undefined; wrap?: number | undefined } | undefined,
): ConverterOptions['counter'] {
  if (kind !== 'rain' || fields.includes('mm')) return undefined;
  if (fields.includes('count'))
    return { field: 'count', mmPerCount: cfg?.mmPerCount ?? 0.2, wrap: cfg?.wrap };
  if (fields.includes('total_mm')) return { field: 'total_mm', mmPerCount: 1, wrap: undefined };
  return undefined;
}
