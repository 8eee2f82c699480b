import type { Level } from '../levels.ts';
import type { Reading, SensorKind } from '../schemas/reading.ts';
import {
  type CleanParams,
  type CleanState,
  type CleanVerdict,
  cleanValue,
  newClean,
  resetClean,
} from './clean.ts';
import type { SensorConfig, SiteConfig } from './config.ts';
import { addMovementValue, type MovementState, newMovement } from './movement.ts';
import { newRain, pushRain, type RainParams, type RainState } from './rain.ts';
import type { MovementRules } from './rules.ts';
import { hypot2, medianInPlace } from './stats.ts';
import { type TapeTrack, tapeLevel, tapeVerdict } from './tape.ts';

/**
 * One sensor's state in the engine: health (its own state, see health status below) and, by kind,
 * the rain gauge or movement rule state. Plain data so that the engine state serialises to JSON.
 *
 * Health status, in order of precedence:
 * - clock_ahead: the sensor's last two or more readings were stamped more than
 *   `maxAheadMinutes` ahead of the site clock and nothing confirmed that time (its clock is wrong);
 * - waiting: no reading yet (not yet stale);
 * - stale: no reading for `staleIntervals` sampling intervals (configured, else the median of the
 *   last five intervals, else `defaultIntervalMs`);
 * - out_of_range: the last reading had a value outside the valid range or not a finite number;
 * - stuck: `stuckReadings` identical readings in a row (tilt and displacement, whose noise makes
 *   exact repeats implausible; set 0 per sensor for quantised instruments);
 * - stepped: a step was detected and removed less than `stepQuarantineMinutes` ago;
 * - spiking: `spikingCount` spikes within the last `spikingWindowReadings` readings;
 * - ok.
 * Only an ok sensor drives levels.
 */
export type HealthStatus =
  | 'waiting'
  | 'ok'
  | 'stale'
  | 'clock_ahead'
  | 'out_of_range'
  | 'stuck'
  | 'stepped'
  | 'spiking';

/** A reading held because it was stamped far ahead of the site clock (see engine.ts, "Clock"). */
export interface HeldReading {
  ts: number;
  values: Record<string, number>;
}

export interface SensorRec {
  id: string;
  kind: SensorKind;
  lastTs: number | null;
  ivals: number[];
  iv: number;
  /**
   * Not saved: whether `iv` is known to be the median of `ivals` (computed here since the record
   * was made or loaded), so that a reading whose interval equals the one leaving the last five can
   * skip the median. False after a load: a saved state may come from a configured interval.
   */
  ivMedian: boolean;
  readings: number;
  status: HealthStatus;
  since: number | null;
  oor: boolean;
  same: number;
  last: number[];
  spikeAt: number[];
  spikes: number;
  steps: number;
  quarantineUntil: number | null;
  outOfOrder: number;
  outOfRange: number;
  /** Readings refused for good as stamped too far ahead of the site clock. */
  future: number;
  /** The latest reading stamped too far ahead, held until confirmed or dropped. */
  held: HeldReading | null;
  /** Consecutive readings of this sensor held so far without confirmation. */
  aheadRun: number;
  /** Readings of a sparse sensor held as unconfirmed (judged by the next reading) so far. */
  unconfirmed: number;
  /** Last time this sensor's own level was 1 or higher (corroborates a jump on another sensor). */
  movedAt: number | null;
  level: Level;
  base: number[] | null;
  clean: CleanState | null;
  move: MovementState | null;
  rain: RainState | null;
}

/** Per-sensor constants derived from the configuration once. */
export interface SensorSetup {
  cfg: SensorConfig;
  fields: readonly string[];
  min: number;
  max: number;
  stuckN: number;
  clean: CleanParams | null;
  move: MovementRules | null;
}

export interface SiteSetup {
  config: SiteConfig;
  rain: RainParams;
  staleK: number;
  defaultIv: number;
  quarantineMs: number;
  spikingCount: number;
  spikingWindow: number;
  /** A sensor whose interval is at least this is sparse (see clean.ts and movement.ts). */
  sparseMs: number;
}

const FIELDS: Record<SensorKind, readonly string[]> = {
  tilt: ['x', 'y'],
  rain: ['mm'],
  displacement: ['mm'],
  pore_pressure: ['kpa'],
  soil_moisture: ['vwc'],
};

export function sensorSetup(c: SiteConfig, s: SensorConfig, move: MovementRules | null): SensorSetup {
  const range = s.range ?? c.health.ranges[s.kind];
  const movement = s.kind === 'tilt' || s.kind === 'displacement';
  return {
    cfg: s,
    fields: FIELDS[s.kind],
    min: range.min,
    max: range.max,
    stuckN: s.stuckReadings ?? (movement ? c.health.stuckReadings : 0),
    clean: movement
      ? {
          window: c.health.hampelWindow,
          sigmas: c.health.hampelSigmas,
          floor: c.health.spikeFloor[s.kind === 'tilt' ? 'tilt' : 'displacement'],
          confirm: c.health.stepConfirmReadings,
        }
      : null,
    move,
  };
}

export function newSensorRec(setup: SensorSetup, site: SiteSetup): SensorRec {
  const { cfg } = setup;
  return {
    id: cfg.id,
    kind: cfg.kind,
    lastTs: null,
    ivals: [],
    iv: cfg.intervalMs ?? site.defaultIv,
    ivMedian: false,
    readings: 0,
    status: 'waiting',
    since: null,
    oor: false,
    same: 0,
    last: [],
    spikeAt: [],
    spikes: 0,
    steps: 0,
    quarantineUntil: null,
    outOfOrder: 0,
    outOfRange: 0,
    future: 0,
    held: null,
    aheadRun: 0,
    unconfirmed: 0,
    movedAt: null,
    level: 0,
    base: cfg.baseline ? [cfg.baseline.x, cfg.baseline.y] : null,
    clean: setup.clean ? newClean(setup.clean.window) : null,
    move: setup.move ? newMovement(setup.move) : null,
    rain: cfg.kind === 'rain' ? newRain(site.rain) : null,
  };
}

/**
 * When the sensor turns stale if nothing arrives: once MORE than `staleIntervals` intervals have
 * passed (a reading due exactly then is on time). `start` stands in for a first reading.
 */
export function staleAt(r: SensorRec, site: SiteSetup, start: number): number {
  return (r.lastTs ?? start) + site.staleK * r.iv + 1;
}

export function statusOf(
  r: SensorRec,
  setup: SensorSetup,
  site: SiteSetup,
  now: number,
  start: number,
): HealthStatus {
  if (r.aheadRun >= 2) return 'clock_ahead';
  if (now >= staleAt(r, site, start)) return 'stale';
  if (r.lastTs === null) return 'waiting';
  if (r.oor) return 'out_of_range';
  if (setup.stuckN > 0 && r.same >= setup.stuckN - 1) return 'stuck';
  if (r.quarantineUntil !== null && now < r.quarantineUntil) return 'stepped';
  const first = r.spikeAt[0];
  if (r.spikeAt.length >= site.spikingCount && first !== undefined && r.readings - first < site.spikingWindow)
    return 'spiking';
  return 'ok';
}

const ivScratch: number[] = [];

/** Where cleaned values go; set per reading (no closure allocated per reading on the hot path). */
const target: { m: MovementState | null; rules: MovementRules | null; iv: number; sparse: boolean } = {
  m: null,
  rules: null,
  iv: 0,
  sparse: false,
};
function emitToTarget(t: number, v: number): void {
  if (target.m && target.rules) addMovementValue(target.m, target.rules, t, v, target.iv, target.sparse);
}
const raw: number[] = [0, 0];

/** values[f], with a named load for the usual fields (a load by a variable name is much slower). */
function fieldOf(values: Record<string, number>, f: string): number | undefined {
  return f === 'mm' ? values.mm : f === 'x' ? values.x : f === 'y' ? values.y : values[f];
}

/** While recording a tape: whether the filter asked `moving()` for this reading, and the answer. */
let asked = false;
let answer = false;
let askMoving: () => boolean = () => false;
const askAndNote = (): boolean => {
  asked = true;
  answer = askMoving();
  return answer;
};

/**
 * Applies an accepted-in-order reading to the sensor (ts is newer than its last reading). Updates
 * health inputs and the rule state; the caller recomputes the status and the site. With a tape
 * (tape.ts), a movement sensor's filter and rules are recorded, or replayed instead of computed.
 */
export function applyReading(
  r: SensorRec,
  setup: SensorSetup,
  site: SiteSetup,
  reading: Reading,
  moving: () => boolean,
  tape: { track: TapeTrack; recording: boolean } | null = null,
): void {
  const ts = reading.ts;
  const prevTs = r.lastTs;
  const wasStale = r.status === 'stale';
  if (prevTs !== null) {
    const iv = ts - prevTs;
    const ivals = r.ivals;
    // The last five intervals, oldest first. Shifted by hand: Array#shift trims the array's store
    // in place, which leaves garbage behind on every reading.
    let dropped: number | undefined;
    if (ivals.length < 5) ivals.push(iv);
    else {
      dropped = ivals[0] as number;
      for (let i = 1; i < ivals.length; i++) ivals[i - 1] = ivals[i] as number;
      ivals[ivals.length - 1] = iv;
    }
    // When the interval that left the five equals the new one, their median (r.iv) stands.
    if (setup.cfg.intervalMs === undefined && (dropped !== iv || !r.ivMedian)) {
      for (let i = 0; i < ivals.length; i++) ivScratch[i] = ivals[i] as number;
      r.iv = Math.max(1, Math.round(medianInPlace(ivScratch, ivals.length)));
      r.ivMedian = true;
    }
  }
  r.lastTs = ts;
  r.readings++;

  const fields = setup.fields;
  let oor = false;
  let same = r.last.length === fields.length;
  for (let i = 0; i < fields.length; i++) {
    const v = fieldOf(reading.values, fields[i] as string);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < setup.min || v > setup.max) oor = true;
    const x = typeof v === 'number' ? v : Number.NaN;
    if (r.last[i] !== x) same = false;
    raw[i] = x;
  }
  r.oor = oor;
  if (oor) {
    r.outOfRange++;
    r.same = 0;
    r.last.length = 0;
    return;
  }
  r.same = same ? r.same + 1 : 0;
  for (let i = 0; i < fields.length; i++) r.last[i] = raw[i] as number;

  if (r.rain) {
    r.level = pushRain(r.rain, site.rain, prevTs ?? ts, ts, raw[0] as number);
    return;
  }
  const move = setup.move;
  const clean = setup.clean;
  if (!move || !clean || !r.move || !r.clean) return;
  if (r.kind === 'tilt' && r.base === null) r.base = [raw[0] as number, raw[1] as number];
  const sparse = r.iv >= site.sparseMs;
  let verdict: CleanVerdict;
  if (tape && !tape.recording) {
    const code = tape.track.next(wasStale, moving);
    verdict = tapeVerdict(code);
    r.level = tapeLevel(code);
  } else {
    const base = r.base;
    const scalar =
      r.kind === 'tilt' && base !== null
        ? hypot2((raw[0] as number) - (base[0] as number), (raw[1] as number) - (base[1] as number))
        : (raw[0] as number);
    // After a gap the old trend says nothing about the new values: restart the outlier filter.
    if (wasStale) resetClean(r.clean);
    target.m = r.move;
    target.rules = move;
    target.iv = r.iv;
    target.sparse = sparse;
    if (tape) {
      asked = false;
      askMoving = moving;
    }
    verdict = cleanValue(r.clean, clean, ts, scalar, emitToTarget, sparse, tape ? askAndNote : moving);
    r.level = r.move.level;
    if (tape) {
      // The answer the verdict rests on (clean.ts): a step is one only without rain or movement
      // elsewhere at the start of its run, and "movement" only with; a sparse sensor's at once.
      const used =
        verdict === 'step' ? 1 : verdict === 'movement' ? 2 : sparse && asked ? (answer ? 2 : 1) : 0;
      tape.track.record(verdict, r.level, wasStale, asked, used);
    }
  }
  if (verdict === 'pending' && sparse) r.unconfirmed++;
  if (verdict === 'spike') {
    r.spikes++;
    r.spikeAt.push(r.readings);
    if (r.spikeAt.length > site.spikingCount) r.spikeAt.shift();
  } else if (verdict === 'step') {
    r.steps++;
    r.quarantineUntil = ts + site.quarantineMs;
  }
  if (r.level >= 1) r.movedAt = ts;
}
