import type { Reading, SensorKind } from '@slopeguard/core';
import {
  createEngine,
  MovementTape,
  type SiteConfig,
  TAPE_SAFE_SETTING,
  TapeDiverged,
} from '@slopeguard/core/engine/index.ts';
import type { KnownEvent } from './events.ts';
import { type ScoreOptions, type ScoreSummary, scoreRun } from './score.ts';

/**
 * Readings packed into shared typed arrays, so that every sweep worker replays the same file
 * without parsing it again or copying it: per reading the sensor's index in the site
 * configuration, the time, and up to two values (the kind's fields in order).
 */
export interface Packed {
  n: number;
  sensor: Uint16Array;
  ts: Float64Array;
  v0: Float64Array;
  v1: Float64Array;
}

export const KIND_FIELDS: Record<SensorKind, readonly string[]> = {
  tilt: ['x', 'y'],
  rain: ['mm'],
  displacement: ['mm'],
  pore_pressure: ['kpa'],
  soil_moisture: ['vwc'],
};

export class Packer {
  #sensor: number[] = [];
  #ts: number[] = [];
  #v0: number[] = [];
  #v1: number[] = [];
  readonly #index: Map<string, number>;
  constructor(config: SiteConfig) {
    this.#index = new Map(config.sensors.map((s, i) => [s.id, i]));
  }
  add(r: Reading): void {
    const i = this.#index.get(r.sensor);
    if (i === undefined) return;
    const [a, b] = KIND_FIELDS[r.kind];
    this.#sensor.push(i);
    this.#ts.push(r.ts);
    this.#v0.push(a === undefined ? Number.NaN : (r.values[a] ?? Number.NaN));
    this.#v1.push(b === undefined ? Number.NaN : (r.values[b] ?? Number.NaN));
  }
  pack(): Packed {
    const n = this.#ts.length;
    const shared = <T>(make: (b: SharedArrayBuffer) => T, bytes: number) =>
      make(new SharedArrayBuffer(bytes));
    const sensor = shared((b) => new Uint16Array(b), n * 2);
    const ts = shared((b) => new Float64Array(b), n * 8);
    const v0 = shared((b) => new Float64Array(b), n * 8);
    const v1 = shared((b) => new Float64Array(b), n * 8);
    sensor.set(this.#sensor);
    ts.set(this.#ts);
    v0.set(this.#v0);
    v1.set(this.#v1);
    return { n, sensor, ts, v0, v1 };
  }
}

/** The level changes of one run over packed readings, and the time it covers. */
export interface PackedRun {
  first: number;
  last: number;
  changes: { ts: number; level: number }[];
}

/**
 * Runs one configuration over the packed readings: the level changes only (no reasons are kept).
 * One Reading object per sensor is reused (the engine copies what it keeps), so the loop allocates
 * nothing per reading. With a tape, the movement sensors are recorded or replayed (see the engine's
 * tape.ts); a replay that leaves the recorded run throws TapeDiverged.
 */
export function replayPacked(config: SiteConfig, p: Packed, tape: MovementTape | null = null): PackedRun {
  const engine = createEngine(config, undefined, tape ? { tape } : {});
  const reuse: Reading[] = config.sensors.map((s) => {
    const values: Record<string, number> = {};
    for (const f of KIND_FIELDS[s.kind]) values[f] = 0;
    return { sensor: s.id, kind: s.kind, ts: 0, values };
  });
  const fields = config.sensors.map((s) => KIND_FIELDS[s.kind]);
  const changes: { ts: number; level: number }[] = [];
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < p.n; k++) {
    const i = p.sensor[k] as number;
    const r = reuse[i] as Reading;
    const f = fields[i] as readonly string[];
    const ts = p.ts[k] as number;
    r.ts = ts;
    const v = r.values;
    // Named stores for the usual fields (a store by a variable name is much slower).
    if (f.length === 2 && f[0] === 'x' && f[1] === 'y') {
      v.x = p.v0[k] as number;
      v.y = p.v1[k] as number;
    } else if (f[0] === 'mm') v.mm = p.v0[k] as number;
    else {
      if (f[0] !== undefined) v[f[0]] = p.v0[k] as number;
      if (f[1] !== undefined) v[f[1]] = p.v1[k] as number;
    }
    if (ts < first) first = ts;
    if (ts > last) last = ts;
    const out = engine.push(r);
    for (let j = 0; j < out.length; j++) {
      const c = out[j];
      if (c) changes.push({ ts: c.ts, level: c.level });
    }
  }
  return p.n === 0 ? { first: 0, last: 0, changes } : { first, last, changes };
}

/** Runs one configuration over the packed readings and scores it. */
export function runPacked(
  config: SiteConfig,
  p: Packed,
  known: readonly KnownEvent[],
  o: ScoreOptions,
): ScoreSummary {
  return scoreRun(replayPacked(config, p), known, o).summary;
}

/**
 * Scores one setting after another over the same packed readings (one sweep worker). When every
 * swept setting is one the movement sensors never read (TAPE_SAFE_SETTING: rain rules, hold-down,
 * corroboration), the first run records a movement tape and the next ones replay it, which skips
 * most of the engine's work; a run whose replay diverges is made again in full and records a new
 * tape (the settings that follow are usually its neighbours). The scores are those of full runs.
 */
export class SweepRunner {
  #tape: MovementTape | null = null;
  readonly #share: boolean;
  /** Runs made in full (recording), and runs that replayed the tape to the end. */
  recorded = 0;
  replayed = 0;
  readonly packed: Packed;
  readonly known: readonly KnownEvent[];
  readonly options: ScoreOptions;
  constructor(packed: Packed, known: readonly KnownEvent[], options: ScoreOptions, paths: readonly string[]) {
    this.packed = packed;
    this.known = known;
    this.options = options;
    this.#share = paths.length > 0 && paths.every((path) => TAPE_SAFE_SETTING.test(path));
  }
  run(config: SiteConfig): ScoreSummary {
    if (this.#tape) {
      this.#tape.rewind();
      try {
        const run = replayPacked(config, this.packed, this.#tape);
        this.replayed++;
        return scoreRun(run, this.known, this.options).summary;
      } catch (err) {
        if (!(err instanceof TapeDiverged)) throw err;
      }
    }
    const tape = this.#share ? new MovementTape(config.sensors.length) : null;
    const run = replayPacked(config, this.packed, tape);
    this.recorded++;
    this.#tape = tape;
    return scoreRun(run, this.known, this.options).summary;
  }
}
