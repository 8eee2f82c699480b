import type { Level } from '../levels.ts';
import type { SiteConfig } from './config.ts';
import type { Reason } from './reason.ts';
import { sig4 } from './stats.ts';
import { newTanks, stepTanks, swiOf, type Tanks } from './swi.ts';

/**
 * One rain gauge: rolling 3-h, 12-h and event-separation sums, the current rain event for the
 * intensity-duration threshold, and the soil water index. Rain readings are mm fallen since the
 * gauge's previous reading; a reading's rain is attributed to its timestamp.
 *
 * The rolling sums are kept in 5-minute bins aligned to the epoch (bounded memory at 1-s sampling):
 * the 3-h sum covers the current bin and the 35 before it, so it may miss up to 5 minutes of the
 * oldest rain, never counts rain older than 3 h.
 */
export const RAIN_BIN_MS = 300_000;
const BINS_1H = 12;
const BINS_3H = 36;
const BINS_12H = 144;

export interface RainState {
  bins: number[];
  head: number;
  sum1: number;
  sum3: number;
  sum12: number;
  sumDry: number;
  tanks: Tanks;
  eventStart: number | null;
  eventLastWet: number;
  eventMm: number;
  level: Level;
  /**
   * Not saved (derived): the newest bin given any rain, so that the sums are known to be 0 without
   * a pass over the bins in a dry spell; null when not known (after a load), until the next pass.
   */
  wetBin: number | null;
}

export interface RainParams {
  l1mm3h: number;
  l1mm12h: number;
  l2mm3h: number;
  l2mm12h: number;
  idEnabled: boolean;
  idA: number;
  idB: number;
  idMinH: number;
  idMaxH: number;
  dryBins: number;
  dryMs: number;
  dryMm: number;
  swiCritical: number | null;
  swiLevel: Level;
  /** The critical line's points (swi ascending) and its levels and margins, or null. */
  line: {
    swi: number[];
    rain: number[];
    level: Level;
    caution: Level;
    marginSwi: number;
    marginRain: number;
  } | null;
}

export function rainParams(c: SiteConfig): RainParams {
  const r = c.rules.rain;
  return {
    l1mm3h: r.level1.mm3h,
    l1mm12h: r.level1.mm12h,
    l2mm3h: r.level2.mm3h,
    l2mm12h: r.level2.mm12h,
    idEnabled: r.intensityDuration.enabled,
    idA: r.intensityDuration.a,
    idB: r.intensityDuration.b,
    idMinH: r.intensityDuration.minHours,
    idMaxH: r.intensityDuration.maxHours,
    dryBins: Math.max(1, Math.round((r.event.dryHours * 3_600_000) / RAIN_BIN_MS)),
    dryMs: r.event.dryHours * 3_600_000,
    dryMm: r.event.dryMm,
    swiCritical: r.swi.criticalMm ?? null,
    swiLevel: Math.min(4, r.swi.level) as Level,
    line: r.criticalLine
      ? {
          swi: r.criticalLine.points.map((p) => p.swiMm),
          rain: r.criticalLine.points.map((p) => p.rain60Mm),
          level: Math.min(4, r.criticalLine.level) as Level,
          caution: Math.min(4, r.criticalLine.cautionLevel) as Level,
          marginSwi: r.criticalLine.marginSwiMm,
          marginRain: r.criticalLine.marginRain60Mm,
        }
      : null,
  };
}

export function newRain(p: RainParams): RainState {
  return {
    bins: new Array<number>(Math.max(BINS_12H, p.dryBins)).fill(0),
    head: -1,
    sum1: 0,
    sum3: 0,
    sum12: 0,
    sumDry: 0,
    tanks: newTanks(),
    eventStart: null,
    eventLastWet: 0,
    eventMm: 0,
    level: 0,
    wetBin: null,
  };
}

function recomputeSums(s: RainState, p: RainParams): void {
  const cap = s.bins.length;
  const longest = Math.max(BINS_12H, p.dryBins);
  // Nothing but dry bins in the longest window (most of a year): every sum is 0, as the loop finds.
  if (s.wetBin !== null && s.head - s.wetBin >= longest) {
    s.sum1 = 0;
    s.sum3 = 0;
    s.sum12 = 0;
    s.sumDry = 0;
    return;
  }
  let s1 = 0;
  let s3 = 0;
  let s12 = 0;
  let sd = 0;
  let wet: number | null = null;
  // Newest bin first, walking the ring backwards (a wrapping index, not a remainder per bin).
  let at = ((s.head % cap) + cap) % cap;
  for (let k = 0; k < longest; k++) {
    const v = s.bins[at] as number;
    at = at === 0 ? cap - 1 : at - 1;
    if (v === 0) continue;
    if (wet === null) wet = s.head - k;
    if (k < BINS_1H) s1 += v;
    if (k < BINS_3H) s3 += v;
    if (k < BINS_12H) s12 += v;
    if (k < p.dryBins) sd += v;
  }
  s.sum1 = s1;
  s.sum3 = s3;
  s.sum12 = s12;
  s.sumDry = sd;
  s.wetBin = wet ?? s.head - longest;
}

/**
 * Adds a reading of `mm` covering (from, ts]. `from` equals ts for a gauge's first reading.
 * Returns the gauge's new level.
 */
export function pushRain(s: RainState, p: RainParams, from: number, ts: number, mm: number): Level {
  const idx = Math.floor(ts / RAIN_BIN_MS);
  const cap = s.bins.length;
  if (idx > s.head) {
    const start = s.head < 0 ? idx : Math.max(s.head + 1, idx - cap + 1);
    for (let i = start; i <= idx; i++) s.bins[i % cap] = 0;
    s.head = idx;
    s.bins[idx % cap] = mm;
    if (mm !== 0 && s.wetBin !== null) s.wetBin = idx;
    recomputeSums(s, p);
  } else {
    if (mm !== 0 && s.wetBin !== null) s.wetBin = s.head;
    s.bins[s.head % cap] = (s.bins[s.head % cap] as number) + mm;
    s.sum1 += mm;
    s.sum3 += mm;
    s.sum12 += mm;
    s.sumDry += mm;
  }
  stepTanks(s.tanks, (ts - from) / 3_600_000, mm);

  if (mm > 0) {
    if (s.eventStart === null) {
      s.eventStart = from;
      s.eventMm = 0;
    }
    s.eventMm += mm;
    s.eventLastWet = ts;
  }
  if (s.eventStart !== null && ts - s.eventStart >= p.dryMs && s.sumDry < p.dryMm) s.eventStart = null;

  s.level = rainLevel(s, p);
  return s.level;
}

function idThreshold(p: RainParams, hours: number): number {
  return p.idA * hours ** p.idB;
}

/** Duration (h) and mean intensity (mm/h) of the current event, or null outside the fit's range. */
function eventID(s: RainState, p: RainParams): { hours: number; intensity: number } | null {
  if (!p.idEnabled || s.eventStart === null) return null;
  const hours = (s.eventLastWet - s.eventStart) / 3_600_000;
  if (hours < p.idMinH || hours > p.idMaxH) return null;
  return { hours, intensity: s.eventMm / hours };
}

function rainLevel(s: RainState, p: RainParams): Level {
  let level: Level = 0;
  if (s.sum3 >= p.l2mm3h || s.sum12 >= p.l2mm12h) level = 2;
  else if (s.sum3 >= p.l1mm3h || s.sum12 >= p.l1mm12h) level = 1;
  else {
    const e = eventID(s, p);
    if (e && e.intensity >= idThreshold(p, e.hours)) level = 1;
  }
  if (p.swiCritical !== null && swiOf(s.tanks) >= p.swiCritical && p.swiLevel > level) level = p.swiLevel;
  if (p.line) {
    const l = lineLevel(p.line, swiOf(s.tanks), s.sum1);
    if (l > level) level = l;
  }
  return level;
}

/**
 * The 60-minute rain at which the line stands at soil water index `swi`: linear between points,
 * the last point's rain beyond the last point, and out of reach (infinite) before the first.
 */
export function lineRainAt(line: NonNullable<RainParams['line']>, swi: number): number {
  const n = line.swi.length;
  if (swi < (line.swi[0] as number)) return Number.POSITIVE_INFINITY;
  for (let i = 1; i < n; i++) {
    const x1 = line.swi[i] as number;
    if (swi <= x1) {
      const x0 = line.swi[i - 1] as number;
      const y0 = line.rain[i - 1] as number;
      const y1 = line.rain[i] as number;
      return y0 + ((swi - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return line.rain[n - 1] as number;
}

/** Level from the critical line: on or beyond it, or within its margins (caution), or 0. */
function lineLevel(line: NonNullable<RainParams['line']>, swi: number, rain60: number): Level {
  if (rain60 >= lineRainAt(line, swi)) return line.level;
  if (rain60 + line.marginRain >= lineRainAt(line, swi + line.marginSwi)) return line.caution;
  return 0;
}

/** The reasons for the gauge's current level (built only when a level change is reported). */
export function rainReasons(s: RainState, p: RainParams, sensor: string): Reason[] {
  const out: Reason[] = [];
  const lvl = s.level;
  if (lvl === 0) return out;
  const add = (rule: string, value: number, threshold: number, window: string, unit: string) =>
    out.push({ rule, level: lvl, sensor, value: sig4(value), threshold, window, unit });
  const swi = swiOf(s.tanks);
  if (p.swiCritical !== null && swi >= p.swiCritical && lvl === p.swiLevel)
    add('rain_swi', swi, p.swiCritical, 'soil water index', 'mm');
  if (p.line && lineLevel(p.line, swi, s.sum1) === lvl) {
    const threshold =
      lvl === p.line.level
        ? lineRainAt(p.line, swi)
        : lineRainAt(p.line, swi + p.line.marginSwi) - p.line.marginRain;
    add('rain_critical_line', s.sum1, sig4(threshold), `60 min at soil water index ${sig4(swi)} mm`, 'mm');
  }
  const t3 = lvl >= 2 ? p.l2mm3h : p.l1mm3h;
  const t12 = lvl >= 2 ? p.l2mm12h : p.l1mm12h;
  if (s.sum3 >= t3) add('rain_3h', s.sum3, t3, '3 h', 'mm');
  if (s.sum12 >= t12) add('rain_12h', s.sum12, t12, '12 h', 'mm');
  const e = eventID(s, p);
  if (lvl === 1 && e) {
    const threshold = idThreshold(p, e.hours);
    if (e.intensity >= threshold)
      add('rain_intensity_duration', e.intensity, sig4(threshold), `${sig4(e.hours)} h event`, 'mm/h');
  }
  return out;
}

/** Soil water index of the gauge in mm. */
export function rainSwi(s: RainState): number {
  return swiOf(s.tanks);
}

/** What a gauge's state says about its rain, for display (rainTotals). */
export interface RainTotals {
  /** Rain in the last 1 h, 3 h and 12 h as of `asOf`, mm (5-minute bins, like the rules). */
  mm1h: number;
  mm3h: number;
  mm12h: number;
  /** The current rain event (opened by the first wet reading, closed after the dry spell), or null. */
  event: { start: number; lastWet: number; mm: number } | null;
  /** Soil water index, mm, as of the gauge's last reading. */
  swiMm: number;
  level: Level;
  /** The time the sums are for (the site clock), or null before the gauge's first reading. */
  asOf: number | null;
}

const sumBins = (s: RainState, nowIdx: number, count: number): number => {
  const cap = s.bins.length;
  let sum = 0;
  for (let k = 0; k < count; k++) {
    const idx = nowIdx - k;
    // Bins after the last reading's bin held no rain; bins older than the ring are gone.
    if (idx > s.head || s.head - idx >= cap) continue;
    sum += s.bins[idx % cap] as number;
  }
  return sum;
};

/**
 * The gauge's rain totals as of `now` (epoch ms), read from its state without changing it: a gauge
 * silent for an hour shows the rain that has left the windows since, not its sums at the last reading.
 */
export function rainTotals(s: RainState, now: number | null): RainTotals {
  if (s.head < 0)
    return { mm1h: 0, mm3h: 0, mm12h: 0, event: null, swiMm: swiOf(s.tanks), level: s.level, asOf: null };
  const nowIdx = Math.max(s.head, now === null ? s.head : Math.floor(now / RAIN_BIN_MS));
  return {
    mm1h: sig4(sumBins(s, nowIdx, BINS_1H)),
    mm3h: sig4(sumBins(s, nowIdx, BINS_3H)),
    mm12h: sig4(sumBins(s, nowIdx, BINS_12H)),
    event:
      s.eventStart === null ? null : { start: s.eventStart, lastWet: s.eventLastWet, mm: sig4(s.eventMm) },
    swiMm: sig4(swiOf(s.tanks)),
    level: s.level,
    asOf: now ?? (s.head + 1) * RAIN_BIN_MS - 1,
  };
}
