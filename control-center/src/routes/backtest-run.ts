import type { Reading } from '@slopeguard/core';
import {
  createEngine,
  type LevelChange,
  parseSiteConfig,
  type SiteConfig,
} from '@slopeguard/core/engine/index.ts';
import { BACKTEST_THRESHOLDS } from './backtest-thresholds.ts';

/**
 * One backtest request: the same readings through two engines, the site's rules as they are and with
 * the requested thresholds, exactly as `slopeguard backtest` replays a file (createEngine, push in
 * time order, nothing else). Pure apart from yielding to the event loop: the route reads the
 * readings, this decides nothing about limits.
 */

/** Level changes listed per run; a run with more says `truncated` (a flapping setting, not news). */
export const MAX_CHANGES = 2000;
/** Reasons kept per listed change (the engine gives one per rule and sensor that fired). */
export const MAX_REASONS = 16;
/** Readings pushed between two yields to the event loop (about 50-100 ms of engine work). */
const YIELD_EVERY = 50_000;

export interface RunSummary {
  /** The level at `from` (after the warm-up readings before it). */
  startLevel: number;
  endLevel: number;
  highest: number;
  /** Time spent at each level 0-4 within [from, to], ms. */
  timeAtLevelMs: number[];
  changes: LevelChange[];
  truncated: boolean;
}

export type Overrides = Record<string, number>;

/** The site configuration with the thresholds set, validated by the engine's own schema. */
export function withOverrides(
  base: SiteConfig,
  overrides: Overrides,
): { ok: true; config: SiteConfig } | { ok: false; errors: string[] } {
  const copy = structuredClone(base) as unknown as { rules: Record<string, unknown> };
  for (const [path, value] of Object.entries(overrides)) {
    // Only the listed paths reach here (the route's schema is closed); checked again all the same.
    if (!BACKTEST_THRESHOLDS.some((t) => t.path === path))
      return { ok: false, errors: [`${path}: not a threshold a backtest may change`] };
    const keys = path.split('.');
    let node = copy.rules;
    for (const k of keys.slice(0, -1)) {
      const next = node[k];
      if (typeof next !== 'object' || next === null) return { ok: false, errors: [`${path}: no such group`] };
      node = next as Record<string, unknown>;
    }
    node[keys[keys.length - 1] as string] = value;
  }
  const parsed = parseSiteConfig(copy);
  return parsed.ok ? { ok: true, config: parsed.config } : { ok: false, errors: parsed.errors };
}

class Track {
  readonly summary: RunSummary = {
    startLevel: 0,
    endLevel: 0,
    highest: 0,
    timeAtLevelMs: [0, 0, 0, 0, 0],
    changes: [],
    truncated: false,
  };
  #level = 0;
  #since: number;
  readonly #from: number;
  constructor(from: number) {
    this.#from = from;
    this.#since = from;
  }
  take(changes: readonly LevelChange[]): void {
    for (const c of changes) {
      if (c.ts < this.#from) {
        // Warm-up: only the level it leaves at `from` matters.
        this.#level = c.level;
        this.summary.startLevel = c.level;
        continue;
      }
      this.#spend(c.ts);
      this.#level = c.level;
      if (c.level > this.summary.highest) this.summary.highest = c.level;
      if (this.summary.changes.length < MAX_CHANGES)
        this.summary.changes.push(
          c.reasons.length > MAX_REASONS ? { ...c, reasons: c.reasons.slice(0, MAX_REASONS) } : c,
        );
      else this.summary.truncated = true;
    }
  }
  #spend(until: number): void {
    const t = this.summary.timeAtLevelMs;
    t[this.#level] = (t[this.#level] ?? 0) + Math.max(0, until - this.#since);
    this.#since = Math.max(this.#since, until);
  }
  finish(to: number): RunSummary {
    this.#spend(to);
    this.summary.endLevel = this.#level;
    this.summary.highest = Math.max(this.summary.highest, this.summary.startLevel);
    return this.summary;
  }
}

/**
 * Replays `readings` (any order; sorted here, stable) through an engine per configuration. Changes
 * before `from` are warm-up (the rules' windows fill); time-driven changes up to `to` (stale sensors,
 * hold-down expiring) come from a final tick.
 */
export async function replay(
  configs: readonly SiteConfig[],
  readings: Reading[],
  from: number,
  to: number,
): Promise<RunSummary[]> {
  readings.sort((a, b) => a.ts - b.ts);
  const engines = configs.map((c) => createEngine(c));
  const tracks = configs.map(() => new Track(from));
  for (let i = 0; i < readings.length; i++) {
    const r = readings[i] as Reading;
    for (let k = 0; k < engines.length; k++)
      (tracks[k] as Track).take((engines[k] as ReturnType<typeof createEngine>).push(r));
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await new Promise((resolve) => setImmediate(resolve));
  }
  return engines.map((e, k) => {
    const track = tracks[k] as Track;
    track.take(e.tick(to));
    return track.finish(to);
  });
}
