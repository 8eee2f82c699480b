import type { Level } from '../levels.ts';
import type { Reading } from '../schemas/reading.ts';
import type { SiteConfig } from './config.ts';
import { EngineError } from './errors.ts';
import { parseSiteConfig } from './parse-config.ts';
import { type RainTotals, rainParams, rainSwi, rainTotals } from './rain.ts';
import type { Reason } from './reason.ts';
import { compileMovementRules, formatDuration, type MovementRules } from './rules.ts';
import {
  applyReading,
  type HealthStatus,
  newSensorRec,
  type SensorRec,
  type SensorSetup,
  type SiteSetup,
  sensorSetup,
  staleAt,
  statusOf,
} from './sensor.ts';
import { isMovement, siteTrigger, triggerReasons } from './site.ts';
import { type EngineState, fromSaved, type Internal, toSaved } from './state.ts';
import type { MovementTape } from './tape.ts';

/**
 * The alert engine of one site: pure, streaming, deterministic. Time comes only from the readings
 * (and `tick`); the same readings in the same order give the same level changes on the gateway and
 * in the control center, and `state()` resumes exactly.
 *
 * Ordering: readings of one sensor must come in time order; a reading not newer than that sensor's
 * last accepted reading is rejected and counted (`outOfOrder`). Across sensors, readings may come
 * slightly out of order: each is applied to its own sensor, and the site's clock is the newest time
 * seen, so level changes are stamped in non-decreasing order.
 *
 * Clock: one reading must not move the site's clock far beyond its other sensors (a gateway or
 * logger without a working clock stamps 2099; a site clock in 2099 makes every honest reading
 * "late" and silences the site for good). A reading stamped more than `health.maxAheadMinutes`
 * ahead of the site clock is therefore HELD (one per sensor, the latest) rather than applied, and
 * applied only when its time is confirmed: by a reading of ANOTHER sensor within the bound of it
 * (a backlog after a real outage brings every sensor's readings; no wall clock is needed, so a
 * backtest works) or by `tick`/`release` moving the clock to within the bound (the wall clock of
 * the gateway or control center). A held reading is dropped and counted (`future`) when its sensor
 * sends a newer one instead; two or more in a row unconfirmed mark the sensor `clock_ahead`. The
 * first reading of a site, and any reading while no other sensor has reported, sets the clock:
 * there is nothing to compare it with.
 */
export interface LevelChange {
  ts: number;
  level: Level;
  previous: Level;
  reasons: Reason[];
}

export interface SensorHealth {
  status: HealthStatus;
  /** True when the sensor's readings drive levels. */
  healthy: boolean;
  since: number | null;
  lastTs: number | null;
  /** Sampling interval in use (configured or estimated). */
  intervalMs: number;
  readings: number;
  spikes: number;
  steps: number;
  outOfOrder: number;
  outOfRange: number;
  /** Readings dropped as stamped too far ahead of the site clock (also in `faults()`). */
  future: number;
  /** A reading held as too far ahead, awaiting confirmation, or null. */
  heldTs: number | null;
  /** Sparse sensors: readings held as unconfirmed until the next one judged them. */
  unconfirmed: number;
  /** The sensor's own trigger level (whether or not it drives the site). */
  level: Level;
}

/** The faults of one sensor alone (the same fields as in its health). */
export interface SensorFaults {
  /** Readings dropped as stamped too far ahead of the site clock, never confirmed. */
  future: number;
  /** Time of the reading held now as too far ahead (awaiting confirmation), or null. */
  heldTs: number | null;
  /** Sparse sensors: readings held as unconfirmed until the next reading judged them. */
  unconfirmed: number;
}

export interface EngineCounters {
  readings: number;
  unknownSensor: number;
  invalid: number;
  outOfOrder: number;
  outOfRange: number;
  future: number;
}

/**
 * What push, tick and release return when nothing changed: one shared, frozen empty array (a new
 * one per reading was most of a backtest's garbage). Read the returned array; do not modify it.
 */
const NO_CHANGES: LevelChange[] = Object.freeze([]) as unknown as LevelChange[];

export interface Engine {
  push(reading: Reading): LevelChange[];
  tick(ts: number): LevelChange[];
  release(ts: number, operator: string): LevelChange[];
  readonly level: Level;
  state(): EngineState;
  health(): Record<string, SensorHealth>;
  faults(): Record<string, SensorFaults>;
  forecasts(): Record<string, { tf: number; r2: number }>;
  swi(): Record<string, number>;
  /** Each rain gauge's 1/3/12-h rain, current event and soil water index at the site clock (read-only). */
  rain(): Record<string, RainTotals>;
  counters(): EngineCounters;
}

const HOUR = 3_600_000;

export type { EngineState };

export interface EngineOptions {
  /**
   * Record the movement sensors' work on this tape, or replay it if it was rewound (tape.ts: for
   * threshold sweeps over rain and site settings only). A replaying engine throws TapeDiverged when
   * its run leaves the recorded one, and is of no use after that.
   */
  tape?: MovementTape;
}

/**
 * `saved` is what `state()` returned (any version, e.g. parsed from a file or database): checked
 * against its schema here, never trusted; a state that fails is refused with EngineError
 * SG_ENGINE_STATE.
 */
export function createEngine(input: SiteConfig, saved?: unknown, options: EngineOptions = {}): Engine {
  // Re-validated once (cheap) so that a configuration built in code without its defaults, or
  // mutated since, fails here with a coded error instead of deep inside a rule.
  const checked = parseSiteConfig(input);
  if (!checked.ok) throw new EngineError('SG_ENGINE_CONFIG', 'invalid site configuration', checked.errors);
  const config = checked.config;
  const site: SiteSetup = {
    config,
    rain: rainParams(config),
    staleK: config.health.staleIntervals,
    defaultIv: config.health.defaultIntervalMs,
    quarantineMs: config.health.stepQuarantineMinutes * 60_000,
    spikingCount: config.health.spikingCount,
    spikingWindow: config.health.spikingWindowReadings,
    sparseMs: config.health.sparseIntervalHours * HOUR,
  };
  const moveRules: Partial<Record<'tilt' | 'displacement', MovementRules>> = {
    tilt: compileMovementRules(config, 'tilt'),
    displacement: compileMovementRules(config, 'displacement'),
  };
  const setups: SensorSetup[] = config.sensors.map((s) =>
    sensorSetup(
      config,
      s,
      s.kind === 'tilt' || s.kind === 'displacement' ? (moveRules[s.kind] ?? null) : null,
    ),
  );
  const holdMs = config.rules.holdDown.hours * HOUR;
  const corroborate = config.rules.corroboration.enabled;
  const rainWindowMs = config.rules.corroboration.rainWindowHours * HOUR;
  const aheadMs = config.health.maxAheadMinutes * 60_000;
  const s: Internal =
    saved !== undefined && saved !== null
      ? resume(fromSaved(saved), config, setups, site)
      : fresh(config, setups, site);
  const repaired = (saved as { v?: unknown } | null | undefined)?.v === 1 && repairClock(s, setups, site);
  const index = new Map<string, number>(s.sensors.map((r, i) => [r.id, i]));
  const ids = s.sensors.map((r) => r.id);
  /**
   * The sensor of a reading. Loggers send their sensors in a fixed order, so the one after the
   * previous reading's is tried first (a string comparison) before the map.
   */
  let guess = 0;
  const indexOf = (sensor: string): number | undefined => {
    const id = ids[guess];
    const i = id !== undefined && id === sensor ? guess : index.get(sensor);
    if (i !== undefined) guess = i + 1 === ids.length ? 0 : i + 1;
    return i;
  };
  let changes: LevelChange[] = NO_CHANGES;

  /** Sensors holding a reading (rare: only then is anything released; a count keeps push O(1)). */
  let heldN = s.sensors.reduce((n, r) => n + (r.held ? 1 : 0), 0);
  const holds = () => heldN > 0;
  const setHeld = (r: SensorRec, h: SensorRec['held']) => {
    heldN += (h ? 1 : 0) - (r.held ? 1 : 0);
    r.held = h;
  };

  const lower = (t: number) => {
    if (s.next === null || t < s.next) s.next = t;
  };

  const emit = (ts: number, level: Level, extra: Reason[] = []) => {
    const trig = siteTrigger(s.sensors, corroborate, isRainRecent(ts));
    const reasons = [...extra, ...triggerReasons(s.sensors, setups, site, trig, ts)];
    if (changes === NO_CHANGES) changes = [];
    changes.push({ ts, level, previous: s.level, reasons });
    s.level = level;
  };

  const isRainRecent = (now: number) => s.rainAt !== null && now - s.rainAt < rainWindowMs;

  /** Recomputes the trigger at `now`, refreshes the hold-down clocks and raises at once if needed. */
  const evaluate = (now: number) => {
    // Rain (and every trigger level) held from the previous evaluation until now.
    if (s.rain >= 1) s.rainAt = now;
    const trig = siteTrigger(s.sensors, corroborate, isRainRecent(now));
    if (trig.rain >= 1) s.rainAt = now;
    if (s.rain >= 1 || trig.rain >= 1) s.wetAt = now;
    s.rain = trig.rain;
    const top = Math.max(s.raw, trig.level);
    for (let k = 1; k <= top; k++) s.lastTrig[k] = now;
    s.raw = trig.level;
    if (trig.level > s.level) emit(now, trig.level);
    if (s.level > 0 && s.level < 4 && s.raw < s.level) lower((s.lastTrig[s.level] ?? now) + holdMs);
    if (s.rainAt !== null && s.rain < 1) lower(s.rainAt + rainWindowMs);
  };

  /** The earliest pending time-driven event (stale, quarantine end, hold-down, rain window), or null. */
  const nextDeadline = (): number | null => {
    let d: number | null = null;
    const min = (t: number) => {
      if (d === null || t < d) d = t;
    };
    const start = s.start ?? 0;
    for (const r of s.sensors) {
      // A clock_ahead sensor stays so until a reading of its own clears it (push lowers then).
      if (r.status !== 'stale' && r.status !== 'clock_ahead') min(staleAt(r, site, start));
      if (r.quarantineUntil !== null) min(r.quarantineUntil);
    }
    if (s.level > 0 && s.level < 4 && s.raw < s.level) min((s.lastTrig[s.level] ?? 0) + holdMs);
    if (s.rainAt !== null && s.rain < 1) min(s.rainAt + rainWindowMs);
    return d;
  };

  /** Processes every time-driven event up to `t`, each at its own time, in order. */
  const advance = (t: number) => {
    if (s.clock === null) {
      s.clock = t;
      s.start = t;
      s.next = nextDeadline();
    }
    if (t > s.clock) s.clock = t;
    while (s.next !== null && s.next <= t) {
      const d = s.next;
      const start = s.start ?? d;
      let dirty = false;
      s.sensors.forEach((r, i) => {
        if (r.quarantineUntil !== null && r.quarantineUntil <= d) r.quarantineUntil = null;
        const st = statusOf(r, setups[i] as SensorSetup, site, d, start);
        if (st !== r.status) {
          r.status = st;
          r.since = d;
          dirty = true;
        }
      });
      if (s.rainAt !== null && s.rain < 1 && s.rainAt + rainWindowMs <= d) {
        s.rainAt = null;
        dirty = true;
      }
      if (dirty) evaluate(d);
      if (s.level > 0 && s.level < 4 && s.raw < s.level) {
        const due = (s.lastTrig[s.level] ?? d) + holdMs;
        if (due <= d) {
          const from = s.level;
          const to = (from - 1) as Level;
          // Entering the lower level counts as its trigger: each step is held in turn.
          s.lastTrig[to] = Math.max(s.lastTrig[to] ?? d, d);
          emit(d, to, [
            {
              rule: 'hold_down',
              level: to,
              window: formatDuration(holdMs),
              text: `no trigger at level ${from} for ${formatDuration(holdMs)}: one level down`,
            },
          ]);
        }
      }
      s.next = nextDeadline();
      if (s.next !== null && s.next <= d) s.next = d + 1; // never loop on one instant
    }
  };

  /**
   * Whether a jump on sensor `i` comes with rain at level >= 1 or with movement (level >= 1) on
   * another sensor, since its previous reading (less the rain window): then it is movement, not a
   * sensor step. Asked by the outlier filter only when an outlier starts a held run.
   */
  let since = 0;
  const corroborated = (i: number): boolean => {
    if (s.rain >= 1 || (s.wetAt !== null && s.wetAt >= since)) return true;
    for (let j = 0; j < s.sensors.length; j++) {
      const o = s.sensors[j] as SensorRec;
      if (j !== i && o.movedAt !== null && o.movedAt >= since && isMovement(o)) return true;
    }
    return false;
  };
  const movingFns = s.sensors.map((_, i) => () => corroborated(i));
  const tape = options.tape;
  if (tape && tape.sensors !== s.sensors.length)
    throw new EngineError('SG_ENGINE_CONFIG', 'the movement tape is for another sensor layout');
  const tapes = s.sensors.map((r, i) => {
    const track = tape?.tracks[i];
    return tape && track && r.move ? { track, recording: tape.recording } : null;
  });

  /** Applies a reading that passed every check (in order for its sensor, not too far ahead). */
  const accept = (i: number, reading: Reading) => {
    const r = s.sensors[i] as SensorRec;
    const setup = setups[i] as SensorSetup;
    const ts = reading.ts;
    advance(ts);
    const now = s.clock ?? ts;
    const level = r.level;
    const status = r.status;
    since = (r.lastTs ?? ts) - rainWindowMs;
    applyReading(r, setup, site, reading, movingFns[i] as () => boolean, tapes[i]);
    const st = statusOf(r, setup, site, now, s.start ?? ts);
    if (st !== status) {
      r.status = st;
      r.since = now;
    }
    if (r.quarantineUntil !== null) lower(r.quarantineUntil);
    lower(staleAt(r, site, s.start ?? ts));
    if (r.level !== level || r.status !== status) evaluate(now);
  };

  const heldReading = (r: SensorRec): Reading => ({
    sensor: r.id,
    kind: r.kind,
    ts: r.held?.ts ?? 0,
    values: r.held?.values ?? {},
  });

  /** Sets a sensor's aheadRun (which drives `clock_ahead`) and re-evaluates if its status moved. */
  const setAheadRun = (i: number, run: number) => {
    const r = s.sensors[i] as SensorRec;
    if (r.aheadRun === run) return;
    r.aheadRun = run;
    const now = s.clock ?? 0;
    const st = statusOf(r, setups[i] as SensorSetup, site, now, s.start ?? now);
    if (st === r.status) return;
    r.status = st;
    r.since = now;
    if (st !== 'clock_ahead') lower(staleAt(r, site, s.start ?? now));
    evaluate(now);
  };

  /** Applies, in time order, every held reading whose time is now within the bound of the clock. */
  const releaseDue = () => {
    for (;;) {
      let k = -1;
      for (let j = 0; j < s.sensors.length; j++) {
        const h = (s.sensors[j] as SensorRec).held;
        if (h && h.ts <= (s.clock ?? 0) + aheadMs && (k < 0 || h.ts < (s.sensors[k]?.held?.ts ?? 0))) k = j;
      }
      if (k < 0) return;
      const r = s.sensors[k] as SensorRec;
      const reading = heldReading(r);
      setHeld(r, null);
      setAheadRun(k, 0);
      accept(k, reading);
    }
  };

  /**
   * A reading stamped more than the bound ahead of the clock: applied at once (with the other
   * sensors' held readings it confirms, those first) when another sensor holds one within the
   * bound of it, else held in place of this sensor's previous held reading.
   */
  const ahead = (i: number, reading: Reading) => {
    const r = s.sensors[i] as SensorRec;
    const ts = reading.ts;
    let confirmed = false;
    let anyOther = false;
    for (let j = 0; j < s.sensors.length; j++) {
      if (j === i) continue;
      const o = s.sensors[j] as SensorRec;
      if (o.lastTs !== null || o.held !== null) anyOther = true;
      if (o.held && Math.abs(o.held.ts - ts) <= aheadMs) confirmed = true;
    }
    if (confirmed || !anyOther) {
      // Held readings that arrived earlier and are not beyond this one's time go first, in order.
      const earlier: number[] = [];
      s.sensors.forEach((o, j) => {
        if (j !== i && o.held && o.held.ts <= ts + aheadMs) earlier.push(j);
      });
      earlier.sort((a, b) => (s.sensors[a]?.held?.ts ?? 0) - (s.sensors[b]?.held?.ts ?? 0));
      for (const j of earlier) {
        const o = s.sensors[j] as SensorRec;
        const h = heldReading(o);
        setHeld(o, null);
        setAheadRun(j, 0);
        if (o.lastTs === null || h.ts > o.lastTs) accept(j, h);
      }
      if (r.held) {
        r.future++;
        setHeld(r, null);
      }
      setAheadRun(i, 0);
      accept(i, reading);
      releaseDue();
      return;
    }
    if (r.held) r.future++;
    setHeld(r, { ts, values: { ...reading.values } });
    setAheadRun(i, r.aheadRun + 1);
  };

  if (repaired) s.next = nextDeadline();

  const api: Engine = {
    push(reading) {
      changes = NO_CHANGES;
      const i = indexOf(reading.sensor);
      if (i === undefined) {
        s.unknown++;
        return changes;
      }
      const r = s.sensors[i] as SensorRec;
      const ts = reading.ts;
      if (reading.kind !== r.kind || typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) {
        s.invalid++;
        return changes;
      }
      if (r.lastTs !== null && ts <= r.lastTs) {
        r.outOfOrder++;
        return changes;
      }
      if (s.clock !== null && ts > s.clock + aheadMs) {
        ahead(i, reading);
        return changes;
      }
      if (r.held) {
        // An in-time reading after a held one: the held one was the sensor's clock going wrong.
        r.future++;
        setHeld(r, null);
        setAheadRun(i, 0);
      }
      accept(i, reading);
      if (holds()) releaseDue();
      return changes;
    },
    tick(ts) {
      changes = NO_CHANGES;
      if (Number.isFinite(ts) && (s.clock === null || ts >= s.clock)) {
        advance(ts);
        if (holds()) releaseDue();
      }
      return changes;
    },
    release(ts, operator) {
      changes = NO_CHANGES;
      if (!Number.isFinite(ts)) return changes;
      advance(Math.max(ts, s.clock ?? ts));
      if (holds()) releaseDue();
      const now = s.clock ?? ts;
      // An operator can release level 4 only once nothing triggers it any more.
      if (s.level !== 4 || s.raw >= 4) return changes;
      s.lastTrig[3] = now;
      emit(now, 3, [
        { rule: 'operator_release', level: 3, operator, text: `level 4 released by ${operator}` },
      ]);
      if (s.raw < 3) lower(now + holdMs);
      return changes;
    },
    get level() {
      return s.level;
    },
    state: () => toSaved(s),
    health() {
      const out: Record<string, SensorHealth> = {};
      for (const r of s.sensors)
        out[r.id] = {
          status: r.status,
          healthy: r.status === 'ok',
          since: r.since,
          lastTs: r.lastTs,
          intervalMs: r.iv,
          readings: r.readings,
          spikes: r.spikes,
          steps: r.steps,
          outOfOrder: r.outOfOrder,
          outOfRange: r.outOfRange,
          future: r.future,
          heldTs: r.held?.ts ?? null,
          unconfirmed: r.unconfirmed,
          level: r.level,
        };
      return out;
    },
    faults() {
      const out: Record<string, SensorFaults> = {};
      for (const r of s.sensors)
        out[r.id] = { future: r.future, heldTs: r.held?.ts ?? null, unconfirmed: r.unconfirmed };
      return out;
    },
    forecasts() {
      const out: Record<string, { tf: number; r2: number }> = {};
      for (const r of s.sensors) {
        // A silent sensor is not accelerating any more (it may have gone with the slope).
        const f = r.status === 'stale' ? null : r.move?.forecast.fit;
        if (f) out[r.id] = { tf: Math.round(f.tf), r2: f.r2 };
      }
      return out;
    },
    swi() {
      const out: Record<string, number> = {};
      for (const r of s.sensors) if (r.rain) out[r.id] = rainSwi(r.rain);
      return out;
    },
    rain() {
      const out: Record<string, RainTotals> = {};
      for (const r of s.sensors) if (r.rain) out[r.id] = rainTotals(r.rain, s.clock);
      return out;
    },
    counters() {
      let readings = 0;
      let outOfOrder = 0;
      let outOfRange = 0;
      let future = 0;
      for (const r of s.sensors) {
        readings += r.readings;
        outOfOrder += r.outOfOrder;
        outOfRange += r.outOfRange;
        future += r.future;
      }
      return { readings, unknownSensor: s.unknown, invalid: s.invalid, outOfOrder, outOfRange, future };
    },
  };
  return api;
}

function fresh(config: SiteConfig, setups: SensorSetup[], site: SiteSetup): Internal {
  return {
    v: 2,
    site: config.id,
    clock: null,
    start: null,
    level: 0,
    raw: 0,
    rain: 0,
    lastTrig: [null, null, null, null, null],
    rainAt: null,
    wetAt: null,
    next: null,
    unknown: 0,
    invalid: 0,
    sensors: setups.map((u) => newSensorRec(u, site)),
  };
}

/**
 * Resumes a saved state. Sensors are matched by id and kind; a sensor new in the configuration
 * starts fresh, and one whose rule layout changed (thresholds with other windows) restarts its
 * rule state but keeps its health.
 */
function resume(s: Internal, config: SiteConfig, setups: SensorSetup[], site: SiteSetup): Internal {
  if (s.site !== config.id)
    throw new EngineError('SG_ENGINE_STATE', `state is for site ${s.site}, not ${config.id}`);
  const byId = new Map(s.sensors.map((r) => [r.id, r]));
  s.sensors = setups.map((u) => {
    const old = byId.get(u.cfg.id);
    if (!old || old.kind !== u.cfg.kind) return newSensorRec(u, site);
    const blank = newSensorRec(u, site);
    const sameTracks =
      old.move !== null &&
      blank.move !== null &&
      old.move.tracks.length === blank.move.tracks.length &&
      old.move.tracks.every(
        (t, k) => t.binMs === blank.move?.tracks[k]?.binMs && t.cap === blank.move?.tracks[k]?.cap,
      );
    if (blank.move && !sameTracks) old.move = blank.move;
    if (blank.rain && old.rain?.bins.length !== blank.rain.bins.length) old.rain = blank.rain;
    if (blank.clean && old.clean?.wt.length !== blank.clean.wt.length) old.clean = blank.clean;
    return old;
  });
  return s;
}

/**
 * A state saved before the clock check (version 1) may carry a reading from the future (issue 9):
 * its sensor's last time, and the site clock, moved to 2099, so every honest reading after it was
 * "late" for good. Ticks also move the clock past the readings (a silent site), so only a time more
 * than a year beyond the median of the sensors' last readings is taken as such. The sensor that
 * took it restarts its rule state (its bins were moved to 2099) with the reading counted as
 * `future`; the clock, and every time derived from it, comes back to the newest plausible reading,
 * and the deadlines are recomputed. A site really silent for a year is marked stale again by the
 * next tick.
 */
const REPAIR_BEYOND_MS = 366 * 24 * HOUR;
function repairClock(s: Internal, setups: readonly SensorSetup[], site: SiteSetup): boolean {
  const times = s.sensors.flatMap((r) => (r.lastTs === null ? [] : [r.lastTs])).sort((a, b) => a - b);
  if (times.length === 0 || s.clock === null) return false;
  const bound = (times[(times.length - 1) >> 1] as number) + REPAIR_BEYOND_MS;
  const plausible = Math.max(...times.filter((t) => t <= bound));
  let repaired = false;
  s.sensors.forEach((r, i) => {
    if (r.lastTs === null || r.lastTs <= bound) return;
    const blank = newSensorRec(setups[i] as SensorSetup, site);
    r.move = blank.move;
    r.clean = blank.clean;
    r.rain = blank.rain;
    r.level = 0;
    r.ivals = [];
    r.ivMedian = false;
    r.lastTs = plausible;
    r.future++;
    repaired = true;
  });
  if (s.clock <= plausible + REPAIR_BEYOND_MS) return repaired;
  const clock = plausible;
  const clamp = (t: number | null) => (t !== null && t > clock ? clock : t);
  s.clock = clock;
  s.lastTrig = s.lastTrig.map(clamp);
  s.rainAt = clamp(s.rainAt);
  s.wetAt = clamp(s.wetAt);
  for (const r of s.sensors) {
    r.since = clamp(r.since);
    if (r.status === 'stale' && r.lastTs !== null) r.status = 'ok';
    r.quarantineUntil = clamp(r.quarantineUntil);
  }
  return true;
}
