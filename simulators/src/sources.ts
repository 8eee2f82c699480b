import type { Reading } from '@slopeguard/core';
import { createRng, type Rng } from './rng.ts';

/** Produces the readings of one sampling instant. */
export type ReadingSource = (ts: number) => Reading[];

/**
 * A plain walking-skeleton signal: one tilt sensor drifting slowly with noise, one rain gauge with
 * intermittent showers. Deterministic for a seed.
 */
export function defaultSource(seed: number): ReadingSource {
  const rng: Rng = createRng(seed);
  let x = rng.normal() * 0.5;
  let y = rng.normal() * 0.5;
  let raining = false;
  return (ts): Reading[] => {
    x += rng.normal() * 0.0005;
    y += rng.normal() * 0.0005;
    if (rng.next() < 0.01) raining = !raining;
    const mm = raining ? Math.round(rng.next() * 5) / 10 : 0;
    return [
      { sensor: 'tilt-1', kind: 'tilt', ts, values: { x: round(x, 4), y: round(y, 4) } },
      { sensor: 'rain-1', kind: 'rain', ts, values: { mm } },
    ];
  };
}

/** The sensors `defaultSource` reports. */
export const DEFAULT_SOURCE_SENSORS = [
  { id: 'tilt-1', kind: 'tilt' },
  { id: 'rain-1', kind: 'rain' },
] as const;

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** A seed from a name (FNV-1a), so each simulated site has its own signal run after run. */
export function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
