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
}

export function newMovement(r: MovementRules): MovementState {
  return {
    tracks: r.tracks.map((t) => newTrack(t.binMs, t.cap)),
    rates: r.rules.map(() => null),
    spans: r.rules.map(() => 0),
    forecast: newForecast(),
    level: 0,
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
): boolean {
  let evaluated = false;
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
