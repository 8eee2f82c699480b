import type { Level } from '../levels.ts';
import { type ForecastState, fitForecast, newForecast, pushVelocity } from './forecast.ts';
import {
  addToTrack,
  newTrack,
  type RateOut,
  recentVelocity,
  type TrackState,
  windowRate,
} from './rate-track.ts';
import type { Reason } from './reason.ts';
import { formatDuration, type MovementRules } from './rules.ts';
import { sig4 } from './stats.ts';

/**
 * The rule side of one tilt sensor or extensometer: its cleaned series goes into rate tracks; when a
 * track closes a bin, the rules on it are re-evaluated (so the work per reading is O(1) and the
 * rates are from whole bins, smoothed). The sensor's level is the highest rule that holds.
 */
export interface MovementState {
  tracks: TrackState[];
  /** Last rate per rule (per hour, signed) or null when the window is not covered. */
  rates: (number | null)[];
  spans: number[];
  forecast: ForecastState;
  level: Level;
  /** Sparse sensors: the latest cleaned values (times, values), newest last, and their span rate. */
  recentT: number[];
  recentV: number[];
  spanRate: number | null;
  spanMs: number;
  /** First cleaned value (the baseline of the cumulative rule) and the latest one. */
  base: number | null;
  lastV: number;
}

/** Values kept for the span rate: enough to reach back a day at the sparse bound (6 h) and more. */
const RECENT = 16;

export function newMovement(r: MovementRules): MovementState {
  return {
    tracks: r.tracks.map((t) => newTrack(t.binMs, t.cap)),
    rates: r.rules.map(() => null),
    spans: r.rules.map(() => 0),
    forecast: newForecast(),
    level: 0,
    recentT: [],
    recentV: [],
    spanRate: null,
    spanMs: 0,
    base: null,
    lastV: 0,
  };
}

const out: RateOut = { perHour: 0, spanMs: 0, endMs: 0 };

/**
 * Adds one accepted (cleaned) value. `sparse` says that readings come no more often than a bin
 * (then the newest bin is complete as soon as it opens). Returns true when the rules were evaluated.
 */
export function addMovementValue(
  m: MovementState,
  r: MovementRules,
  ts: number,
  v: number,
  intervalMs: number,
  sparse: boolean,
): boolean {
  let evaluated = false;
  if (m.base === null) m.base = v;
  m.lastV = v;
  if (r.cumulative) evaluated = true;
  if (r.span && sparse) {
    evaluated = true;
    m.recentT.push(ts);
    m.recentV.push(v);
    if (m.recentT.length > RECENT) {
      m.recentT.shift();
      m.recentV.shift();
    }
    m.spanRate = null;
    for (let j = m.recentT.length - 2; j >= 0; j--) {
      const dt = ts - (m.recentT[j] as number);
      if (dt < r.span.minMs) continue;
      m.spanRate = ((v - (m.recentV[j] as number)) / dt) * 3_600_000;
      m.spanMs = dt;
      break;
    }
  } else if (m.spanRate !== null) m.spanRate = null; // dense again: the windowed rules take over
  for (let k = 0; k < m.tracks.length; k++) {
    const t = m.tracks[k] as TrackState;
    if (!addToTrack(t, ts, v)) continue;
    evaluated = true;
    const endIdx = intervalMs >= t.binMs ? t.head : t.head - 1;
    for (let i = 0; i < r.rules.length; i++) {
      const rule = r.rules[i];
      if (rule === undefined || rule.track !== k) continue;
      if (windowRate(t, endIdx, rule.windowBins, r.minBins, rule.sustained, out)) {
        m.rates[i] = out.perHour;
        m.spans[i] = out.spanMs;
      } else m.rates[i] = null;
    }
    if (k === r.forecast.track && recentVelocity(t, endIdx, r.forecast.smoothBins, out)) {
      pushVelocity(m.forecast, r.forecast.points, out.endMs - out.spanMs / 2, out.perHour);
      fitForecast(m.forecast, r.forecast);
    }
  }
  if (evaluated) m.level = movementLevel(m, r, ts);
  return evaluated;
}

/** Re-evaluates at time `now` without a new value (the forecast horizon moves with time). */
export function movementLevel(m: MovementState, r: MovementRules, now: number): Level {
  let level: Level = 0;
  for (let i = 0; i < r.rules.length; i++) {
    const rule = r.rules[i];
    const rate = m.rates[i];
    if (rule === undefined || rate === null || rate === undefined) continue;
    if (Math.abs(rate) >= rule.perHour && rule.level > level) level = rule.level;
  }
  if (forecastTriggers(m, r, now) && r.forecast.level > level) level = r.forecast.level;
  if (r.span && m.spanRate !== null) {
    const rate = Math.abs(m.spanRate);
    const l: Level = rate >= r.span.l2PerHour ? 2 : rate >= r.span.l1PerHour ? 1 : 0;
    if (l > level) level = l;
  }
  if (
    r.cumulative &&
    m.base !== null &&
    Math.abs(m.lastV - m.base) >= r.cumulative.mm &&
    r.cumulative.level > level
  )
    level = r.cumulative.level;
  return level;
}

function forecastTriggers(m: MovementState, r: MovementRules, now: number): boolean {
  const f = m.forecast.fit;
  return r.forecast.level > 0 && f !== null && f.r2 >= r.forecast.minR2 && f.tf - now <= r.forecast.horizonMs;
}

/** The reasons for the sensor's current level (built only when a level change is reported). */
export function movementReasons(m: MovementState, r: MovementRules, sensor: string, now: number): Reason[] {
  const reasons: Reason[] = [];
  if (m.level === 0) return reasons;
  for (let i = 0; i < r.rules.length; i++) {
    const rule = r.rules[i];
    const rate = m.rates[i];
    if (rule === undefined || rate === null || rate === undefined) continue;
    if (rule.level !== m.level || Math.abs(rate) < rule.perHour) continue;
    const span = m.spans[i] ?? 0;
    // A window widened for sparse sampling is shown with its real span.
    const widened = span > rule.windowMs * 1.5 ? ` (widened to ${formatDuration(span)})` : '';
    reasons.push({
      rule: rule.rule,
      level: rule.level,
      sensor,
      value: sig4(Math.abs(rate) * rule.unitPerHour),
      threshold: rule.threshold,
      window: `${formatDuration(rule.windowMs)}${widened}`,
      unit: rule.unit,
    });
  }
  if (r.span && m.spanRate !== null) {
    const perDay = Math.abs(m.spanRate) * 24;
    const threshold = m.level >= 2 ? r.span.l2 : r.span.l1;
    if (perDay >= threshold && m.level <= 2)
      reasons.push({
        rule: 'displacement_rate',
        level: m.level,
        sensor,
        value: sig4(perDay),
        threshold,
        window: `${formatDuration(m.spanMs)} between readings`,
        unit: 'mm/day',
      });
  }
  if (r.cumulative && m.base !== null && m.level === r.cumulative.level) {
    const moved = Math.abs(m.lastV - m.base);
    if (moved >= r.cumulative.mm)
      reasons.push({
        rule: 'displacement_cumulative',
        level: m.level,
        sensor,
        value: sig4(moved),
        threshold: r.cumulative.mm,
        window: 'since the first reading',
        unit: 'mm',
      });
  }
  const f = m.forecast.fit;
  if (f !== null && m.level === r.forecast.level && forecastTriggers(m, r, now)) {
    reasons.push({
      rule: 'inverse_velocity',
      level: r.forecast.level,
      sensor,
      value: sig4((f.tf - now) / 3_600_000),
      threshold: r.forecast.horizonMs / 3_600_000,
      window: `${f.n} velocity points over ${formatDuration(f.spanMs)}`,
      unit: 'h to failure',
      tf: Math.round(f.tf),
      r2: sig4(f.r2),
    });
  }
  return reasons;
}
