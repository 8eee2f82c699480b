import type { Reading, SensorKind } from '@slopeguard/core';
import { normalAt } from './noise.ts';
import type { InjectedFault } from './types.ts';

/**
 * Physical building blocks of the scenarios. Every model is a pure function of time (and of the
 * sampling interval, for rain and one-sample faults), so that readings can be generated lazily at
 * any rate and `valuesAt` answers for any instant.
 */
export const HOUR = 3_600_000;
export const MIN = 60_000;

/** Noise source: the seed, and the instant noise is keyed from (so a shifted start replays alike). */
export interface NoiseKey {
  seed: number;
  origin: number;
}

export interface SensorModel {
  id: string;
  kind: SensorKind;
  /** Values at ts; rain is the mm fallen over (ts - dt, ts]. Null when silent. */
  value(ts: number, dt: number): Record<string, number> | null;
}

/** Rain falling evenly at `mm` in total over [from, to). */
export interface RainSegment {
  from: number;
  to: number;
  mm: number;
}

/** Hourly (or any) amounts from `from` on, as segments. */
export function hourly(from: number, amounts: readonly number[], stepMs = HOUR): RainSegment[] {
  return amounts.map((mm, i) => ({ from: from + i * stepMs, to: from + (i + 1) * stepMs, mm }));
}

/**
 * A tipping-bucket rain gauge: cumulative rain C(t) from the segments, reported as whole buckets
 * tipped over the interval, q(C(t)) - q(C(t - dt)). The readings add up exactly to the buckets
 * tipped, at any interval.
 */
export function rainGauge(id: string, segments: readonly RainSegment[], bucketMm = 0.5): SensorModel {
  const segs = [...segments].sort((a, b) => a.from - b.from);
  const before: number[] = [];
  let acc = 0;
  for (const s of segs) {
    before.push(acc);
    acc += s.mm;
  }
  const cumulative = (t: number): number => {
    // Binary search for the last segment starting at or before t.
    let lo = 0;
    let hi = segs.length - 1;
    let k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((segs[mid] as RainSegment).from <= t) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (k < 0) return 0;
    const s = segs[k] as RainSegment;
    const frac = Math.min(1, (t - s.from) / (s.to - s.from));
    return (before[k] as number) + s.mm * frac;
  };
  const tipped = (t: number) => Math.floor(cumulative(t) / bucketMm + 1e-9);
  return {
    id,
    kind: 'rain',
    value: (ts, dt) => ({ mm: round((tipped(ts) - tipped(ts - dt)) * bucketMm, 3) }),
  };
}

/** An extensometer reading `base + movement(t)` mm with Gaussian noise of `sigma` mm. */
export function extensometer(
  id: string,
  channel: number,
  noise: NoiseKey,
  base: number,
  movement: (t: number) => number,
  sigma = 0.05,
): SensorModel {
  return {
    id,
    kind: 'displacement',
    value: (ts) => ({
      mm: round(base + movement(ts) + sigma * normalAt(noise.seed, channel, ts - noise.origin), 2),
    }),
  };
}

/**
 * A surface tilt sensor: the tilt magnitude `magnitude(t)` degrees along a fixed direction `angle`
 * (radians) from its installed attitude `base`, with noise of `sigma` degrees on each axis.
 */
export function tiltmeter(
  id: string,
  channel: number,
  noise: NoiseKey,
  base: readonly [number, number],
  angle: number,
  magnitude: (t: number) => number,
  sigma = 0.0005,
): SensorModel {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return {
    id,
    kind: 'tilt',
    value: (ts) => {
      const m = magnitude(ts);
      const k = ts - noise.origin;
      return {
        x: round(base[0] + m * c + sigma * normalAt(noise.seed, channel * 2, k), 4),
        y: round(base[1] + m * s + sigma * normalAt(noise.seed, channel * 2 + 1, k), 4),
      };
    },
  };
}

/**
 * Creep to failure: still until `creepFrom`, secondary creep at `secondary` mm/h until
 * `tertiaryFrom`, then tertiary creep whose inverse velocity falls linearly (Fukuzono 1985) from
 * 1/`tertiaryStart` to zero at `failureAt`. Returns displacement in mm; flat at the last 5 minutes.
 */
export function creepToFailure(p: {
  creepFrom: number;
  secondary: number;
  tertiaryFrom: number;
  tertiaryStart: number;
  failureAt: number;
}): (t: number) => number {
  const xa = (p.secondary * (p.tertiaryFrom - p.creepFrom)) / HOUR;
  const span = (p.failureAt - p.tertiaryFrom) / HOUR;
  return (t) => {
    if (t <= p.creepFrom) return 0;
    if (t <= p.tertiaryFrom) return (p.secondary * (t - p.creepFrom)) / HOUR;
    const left = Math.max((p.failureAt - Math.min(t, p.failureAt)) / HOUR, 5 / 60);
    return xa + p.tertiaryStart * span * Math.log(span / left);
  };
}

/** Steady creep at `mmPerDay` from `from`. */
export function steadyCreep(from: number, mmPerDay: number): (t: number) => number {
  return (t) => (t <= from ? 0 : (mmPerDay * (t - from)) / (24 * HOUR));
}

/** Applies injected faults to a sensor model (stateless: each is a function of time). */
export function withFaults(model: SensorModel, faults: readonly InjectedFault[]): SensorModel {
  const mine = faults.filter((f) => f.sensor === model.id);
  if (mine.length === 0) return model;
  const field = model.kind === 'tilt' ? 'x' : model.kind === 'rain' ? 'mm' : 'mm';
  return {
    ...model,
    value(ts, dt) {
      let v = model.value(ts, dt);
      for (const f of mine) {
        if (v === null) return null;
        const inside = ts >= f.from && ts < f.to;
        const firstSample = ts >= f.from && ts < f.from + dt;
        if (f.kind === 'dropout' && inside) return null;
        if (f.kind === 'stuck' && inside) v = model.value(Math.floor(f.from / dt) * dt, dt);
        else if (f.kind === 'spike' && firstSample) v = bump(v, field, f.size);
        else if (f.kind === 'out_of_range' && firstSample) v = { ...v, [field]: f.size };
        else if (f.kind === 'step' && ts >= f.from) v = bump(v, field, f.size);
        else if (f.kind === 'drift' && ts >= f.from)
          v = bump(v, field, (f.size * (Math.min(ts, f.to) - f.from)) / HOUR);
      }
      return v;
    },
  };
}

function bump(v: Record<string, number>, field: string, by: number): Record<string, number> {
  return { ...v, [field]: round((v[field] ?? 0) + by, 4) };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** Readings of every model at one instant, skipping silent sensors. */
export function readingsAt(models: readonly SensorModel[], ts: number, dt: number): Reading[] {
  const out: Reading[] = [];
  for (const m of models) {
    const values = m.value(ts, dt);
    if (values !== null) out.push({ sensor: m.id, kind: m.kind, ts, values });
  }
  return out;
}
