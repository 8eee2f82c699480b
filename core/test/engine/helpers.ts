import type { Engine, LevelChange } from '../../src/engine/index.ts';
import type { Reading } from '../../src/schemas/reading.ts';

/** Small deterministic helpers for engine tests (no simulators dependency: core stands alone). */
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const T0 = Date.UTC(2025, 6, 1);

/** Deterministic pseudo-noise in [-1, 1] (mulberry32), so tests never depend on Math.random. */
export function noise(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

export function disp(sensor: string, ts: number, mm: number): Reading {
  return { sensor, kind: 'displacement', ts, values: { mm } };
}
export function tilt(sensor: string, ts: number, x: number, y: number): Reading {
  return { sensor, kind: 'tilt', ts, values: { x, y } };
}
export function rain(sensor: string, ts: number, mm: number): Reading {
  return { sensor, kind: 'rain', ts, values: { mm } };
}

export function feed(engine: Engine, readings: Iterable<Reading>): LevelChange[] {
  const out: LevelChange[] = [];
  for (const r of readings) out.push(...engine.push(r));
  return out;
}

export function maxLevel(changes: LevelChange[]): number {
  return changes.reduce((m, c) => Math.max(m, c.level), 0);
}
