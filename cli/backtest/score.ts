import type { KnownEvent } from './events.ts';

/**
 * Scoring a backtest against known events: lead times, misses and false alarms. Pure: takes the
 * site's level over time (its level changes between the first and last reading) and the events.
 *
 * Definitions (docs/alert-engine.md, "Scoring against known events"):
 * - An episode at level >= l is a maximal span during which the site's level was l or higher.
 * - For each event at te, the lead time at level l is te minus the start of the first episode at
 *   >= l that overlaps the warning window [te - window, te] (an episode that began earlier and was
 *   still on counts from its own start). No such episode: no lead at l.
 * - An event is detected when it has a lead at the alarm level N, otherwise missed. Events outside
 *   the readings' span are listed but not scored.
 * - A false alarm is an episode at >= N with no event in [start, start + falseWindow].
 *   Episodes starting inside a none-period are marked as such.
 */
export interface Timeline {
  first: number;
  last: number;
  changes: readonly { ts: number; level: number }[];
}

export interface ScoreOptions {
  alarmLevel: number;
  windowMs: number;
  falseWindowMs: number;
}

export interface EventScore {
  ts: number;
  kind: string;
  note: string;
  scored: boolean;
  detected: boolean;
  /** Per level 1-4 (index 0 unused, null): when the episode giving the lead began, and the lead. */
  firstAt: (number | null)[];
  leadMs: (number | null)[];
}

export interface FalseAlarm {
  start: number;
  end: number;
  peak: number;
  inQuietPeriod: boolean;
}

export interface ScoreSummary {
  events: number;
  detected: number;
  missed: number;
  /** Probability of detection, detected / scored events; null without scored events. */
  pod: number | null;
  falseAlarms: number;
  falseInQuietPeriods: number;
  years: number;
  falsePerYear: number | null;
  /** At the alarm level, over detected events. */
  leadMedianMs: number | null;
  leadWorstMs: number | null;
  /** Time at each level 0-4 within the readings' span. */
  timeAtLevelMs: number[];
}

export interface Score {
  options: ScoreOptions;
  period: { first: number; last: number };
  events: EventScore[];
  falseAlarms: FalseAlarm[];
  summary: ScoreSummary;
}

export const YEAR_MS = 365.25 * 24 * 3_600_000;

interface Episode {
  start: number;
  end: number;
  peak: number;
}

/** Maximal spans at level >= l, clipped to the timeline; an episode still on ends at `last`. */
export function episodes(t: Timeline, l: number): Episode[] {
  const out: Episode[] = [];
  let open: Episode | null = null;
  for (const c of t.changes) {
    if (c.level >= l && open === null) open = { start: c.ts, end: t.last, peak: c.level };
    else if (c.level >= l && open !== null) open.peak = Math.max(open.peak, c.level);
    else if (c.level < l && open !== null) {
      open.end = c.ts;
      out.push(open);
      open = null;
    }
  }
  if (open !== null) out.push(open);
  return out;
}

export function timeAtLevels(t: Timeline): number[] {
  const time = [0, 0, 0, 0, 0];
  let level = 0;
  let since = t.first;
  for (const c of t.changes) {
    const at = Math.min(Math.max(c.ts, t.first), t.last);
    time[level] = (time[level] ?? 0) + (at - since);
    since = at;
    level = c.level;
  }
  time[level] = (time[level] ?? 0) + (t.last - since);
  return time;
}

const median = (xs: number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export function scoreRun(t: Timeline, known: readonly KnownEvent[], o: ScoreOptions): Score {
  const byLevel = [1, 2, 3, 4].map((l) => episodes(t, l));
  const quiet = known.filter((e) => e.kind === 'none-period');
  const targets = known.filter((e) => e.kind !== 'none-period');

  const events: EventScore[] = targets.map((e) => {
    const scored = e.ts >= t.first && e.ts <= t.last;
    const firstAt: (number | null)[] = [null, null, null, null, null];
    const leadMs: (number | null)[] = [null, null, null, null, null];
    if (scored)
      byLevel.forEach((eps, k) => {
        const ep = eps.find((x) => x.start <= e.ts && x.end > e.ts - o.windowMs);
        if (ep) {
          firstAt[k + 1] = ep.start;
          leadMs[k + 1] = e.ts - ep.start;
        }
      });
    const detected = scored && leadMs[o.alarmLevel] !== null;
    return { ts: e.ts, kind: e.kind, note: e.note, scored, detected, firstAt, leadMs };
  });

  const alarms = byLevel[o.alarmLevel - 1] ?? [];
  const falseAlarms: FalseAlarm[] = alarms
    .filter((a) => !targets.some((e) => e.ts >= a.start && e.ts <= a.start + o.falseWindowMs))
    .map((a) => ({
      ...a,
      inQuietPeriod: quiet.some((q) => a.start >= q.ts && a.start <= (q.end ?? q.ts)),
    }));

  const scored = events.filter((e) => e.scored);
  const detected = scored.filter((e) => e.detected);
  const leads = detected.map((e) => e.leadMs[o.alarmLevel] as number);
  const years = (t.last - t.first) / YEAR_MS;
  return {
    options: o,
    period: { first: t.first, last: t.last },
    events,
    falseAlarms,
    summary: {
      events: scored.length,
      detected: detected.length,
      missed: scored.length - detected.length,
      pod: scored.length > 0 ? detected.length / scored.length : null,
      falseAlarms: falseAlarms.length,
      falseInQuietPeriods: falseAlarms.filter((f) => f.inQuietPeriod).length,
      years,
      falsePerYear: years > 0 ? falseAlarms.length / years : null,
      leadMedianMs: median(leads),
      leadWorstMs: leads.length > 0 ? Math.min(...leads) : null,
      timeAtLevelMs: timeAtLevels(t),
    },
  };
}
