import type { Level } from '../levels.ts';
import type { SiteConfig } from './config.ts';

/**
 * The movement rules compiled from a site configuration into the units the hot path uses: each a
 * named rate threshold over a window, evaluated on a robust rate track (rate-track.ts). Tracks are
 * shared between rules with the same bin width.
 */
export interface RateRule {
  rule: 'tilt_rate' | 'displacement_rate';
  level: Level;
  /** Threshold on the absolute rate, per hour in system units. */
  perHour: number;
  windowMs: number;
  windowBins: number;
  /** Every sub-interval must reach the rate (persistence), rather than their median. */
  sustained: boolean;
  track: number;
  /** How the value is shown in reasons: unit label and its factor from per-hour. */
  unit: string;
  unitPerHour: number;
  threshold: number;
}

export interface TrackSpec {
  binMs: number;
  cap: number;
}

export interface MovementRules {
  tracks: TrackSpec[];
  rules: RateRule[];
  minBins: number;
  forecast: {
    track: number;
    smoothBins: number;
    points: number;
    minPoints: number;
    minR2: number;
    minPerHour: number;
    /** Level raised by a good forecast within `horizonMs`, or 0 (tilt: forecast shown, no level). */
    level: Level;
    horizonMs: number;
  };
  /** Sparse sensors (displacement): rate over at least `minMs`, levels 1 and 2 per day as shown. */
  span: { minMs: number; l1PerHour: number; l2PerHour: number; l1: number; l2: number } | null;
  /** Displacement since the baseline that raises `level`, or null (not configured). */
  cumulative: { mm: number; level: Level } | null;
}

const HOUR = 3_600_000;

export function compileMovementRules(c: SiteConfig, kind: 'tilt' | 'displacement'): MovementRules {
  const bins = c.rates.bins;
  const minBins = c.rates.minBins;
  const longestInterval = c.health.defaultIntervalMs;
  const tracks: TrackSpec[] = [];
  const trackFor = (binMs: number, need: number): number => {
    let i = tracks.findIndex((t) => t.binMs === binMs);
    if (i < 0) {
      i = tracks.length;
      tracks.push({ binMs, cap: 0 });
    }
    const t = tracks[i] as TrackSpec;
    t.cap = Math.max(t.cap, need);
    return i;
  };
  const rules: RateRule[] = [];
  const add = (
    rule: RateRule['rule'],
    level: Level,
    threshold: number,
    unit: string,
    unitPerHour: number,
    windowMs: number,
    sustained = false,
  ) => {
    // A sustained window's K bin means span the whole duration: K-1 sub-intervals of D/(K-1).
    const binMs = Math.max(1, Math.round(windowMs / (sustained ? bins - 1 : bins)));
    // Room to widen the window until it holds minBins readings at the longest sampling interval.
    const cap = Math.max(bins, Math.ceil((minBins * longestInterval) / binMs)) + 1;
    rules.push({
      rule,
      level,
      perHour: threshold / unitPerHour,
      windowMs,
      windowBins: bins,
      sustained,
      track: trackFor(binMs, cap),
      unit,
      unitPerHour,
      threshold,
    });
  };

  const f = c.rules.forecast;
  const fBin = Math.round(f.binMinutes * 60_000);
  const fCap = Math.max(f.smoothBins + 1, Math.ceil(((f.smoothBins + 1) * longestInterval) / fBin)) + 1;
  if (kind === 'tilt') {
    const t = c.rules.tilt;
    add('tilt_rate', 1, t.level1.degPerHour, 'deg/h', 1, t.level1.sustainMinutes * 60_000, true);
    add('tilt_rate', 2, t.level2.degPerHour, 'deg/h', 1, t.level2.sustainMinutes * 60_000, true);
  } else {
    const d = c.rules.displacement;
    add('displacement_rate', 1, d.level1.mmPerDay, 'mm/day', 24, d.level1.windowHours * HOUR);
    add('displacement_rate', 2, d.level2.mmPerDay, 'mm/day', 24, d.level2.windowHours * HOUR);
    add('displacement_rate', 2, d.level2.mmPerHour, 'mm/h', 1, d.level2.shortWindowHours * HOUR);
    add('displacement_rate', 3, d.level3.mmPerHour, 'mm/h', 1, d.level3.sustainHours * HOUR, true);
    add('displacement_rate', 4, d.level4.mmPerHour, 'mm/h', 1, d.level4.windowMinutes * 60_000);
  }
  const d = c.rules.displacement;
  const disp = kind === 'displacement';
  return {
    tracks,
    rules,
    minBins,
    span: disp
      ? {
          minMs: d.span.minHours * HOUR,
          l1PerHour: d.level1.mmPerDay / 24,
          l2PerHour: d.level2.mmPerDay / 24,
          l1: d.level1.mmPerDay,
          l2: d.level2.mmPerDay,
        }
      : null,
    cumulative:
      disp && d.cumulative.mm !== undefined
        ? { mm: d.cumulative.mm, level: Math.min(4, d.cumulative.level) as Level }
        : null,
    forecast: {
      track: trackFor(fBin, fCap),
      smoothBins: f.smoothBins,
      points: f.points,
      minPoints: f.minPoints,
      minR2: f.minR2,
      minPerHour: kind === 'tilt' ? f.minDegPerHour : f.minMmPerHour,
      level: kind === 'tilt' ? 0 : 4,
      horizonMs: c.rules.displacement.level4.forecastHours * HOUR,
    },
  };
}

/** "30 min", "2 h", "1.5 d": windows as officials read them. */
export function formatDuration(ms: number): string {
  const min = ms / 60_000;
  if (min < 120) return `${Math.round(min * 10) / 10} min`;
  const h = min / 60;
  if (h < 48) return `${Math.round(h * 10) / 10} h`;
  return `${Math.round((h / 24) * 10) / 10} d`;
}
