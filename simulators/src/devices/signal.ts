import type { SensorKind } from '@slopeguard/core';
import { createRng } from '../rng.ts';

/**
 * What a virtual device measures, in the device's own terms (tilt degrees, cumulative tip count,
 * kPa, ...), sampled when the master asks. This is the seam where scenario models plug in: any
 * function of time will do. `seededSignal` is the stand-in when no scenario drives the device.
 */
export type ValueSource = (nowMs: number) => Record<string, number> | null;

/**
 * A quiet, reproducible signal per kind: slow drift plus small noise; rain as a cumulative count.
 * (A null from a ValueSource means the sensor is silent: the device does not answer.)
 */
export function seededSignal(kind: SensorKind, seed: number): (nowMs: number) => Record<string, number> {
  const rng = createRng(seed);
  let count = 0;
  let disp = 0;
  const t0 = Date.now();
  return (now): Record<string, number> => {
    const h = (now - t0) / 3_600_000;
    switch (kind) {
      case 'tilt':
        return {
          x: 0.5 + 0.01 * h + 0.002 * rng.normal(),
          y: -0.3 + 0.002 * rng.normal(),
          temp_c: 18,
          supply_v: 12.1,
        };
      case 'rain':
        count += rng.next() < 0.3 ? 1 : 0;
        return { count, supply_v: 12.0 };
      case 'displacement':
        disp += Math.max(0, 0.01 + 0.005 * rng.normal());
        return { mm: disp };
      case 'pore_pressure':
        return { kpa: 12 + 0.2 * rng.normal() };
      case 'soil_moisture':
        return { vwc: 28 + 0.3 * rng.normal() };
    }
  };
}

/** A fixed list of samples, one per call, the last repeated: for tests that check exact readings. */
export function sequence(samples: readonly (Record<string, number> | null)[]): ValueSource {
  let i = 0;
  return () => {
    const s = samples[Math.min(i, samples.length - 1)];
    i++;
    return s === null ? null : { ...(s ?? {}) };
  };
}
