import type { Level } from '@slopeguard/core';
import type { Expectation } from './types.ts';

/** A level change as the engine reports it (structurally; no engine import needed). */
export interface ChangeLike {
  ts: number;
  level: Level;
  reasons: readonly { rule: string }[];
}

export interface ExpectationResult {
  expectation: Expectation;
  ok: boolean;
  /** For lead expectations: failure time minus the time the level was first reached. */
  leadMs?: number;
  detail: string;
}

const iso = (t: number) => new Date(t).toISOString();

/** Checks a scenario's declared expectations against the level changes of a run. */
export function checkExpectations(
  expectations: readonly Expectation[],
  changes: readonly ChangeLike[],
  failureAt: number | null,
): ExpectationResult[] {
  const firstAt = (min: Level) => changes.find((c) => c.level >= min)?.ts ?? null;
  return expectations.map((e): ExpectationResult => {
    switch (e.kind) {
      case 'lead': {
        const t = firstAt(e.minLevel);
        if (failureAt === null) return { expectation: e, ok: false, detail: 'scenario has no failure time' };
        if (t === null) return { expectation: e, ok: false, detail: `level ${e.minLevel} never reached` };
        const leadMs = failureAt - t;
        return {
          expectation: e,
          ok: leadMs >= e.leadMs,
          leadMs,
          detail: `level ${e.minLevel} at ${iso(t)}, ${(leadMs / 3_600_000).toFixed(2)} h before the failure`,
        };
      }
      case 'by': {
        const t = firstAt(e.minLevel);
        if (t === null) return { expectation: e, ok: false, detail: `level ${e.minLevel} never reached` };
        return {
          expectation: e,
          ok: t <= e.by,
          detail: `level ${e.minLevel} at ${iso(t)} (due by ${iso(e.by)})`,
        };
      }
      case 'never-above': {
        const max = changes.reduce<number>((m, c) => Math.max(m, c.level), 0);
        return { expectation: e, ok: max <= e.maxLevel, detail: `highest level ${max}` };
      }
      case 'during': {
        let level = 0;
        let low: number | null = null;
        for (const c of changes) {
          if (c.ts > e.to) break;
          if (c.ts <= e.from) level = c.level;
          else if (c.level < e.minLevel && low === null) low = c.ts;
        }
        if (level < e.minLevel) low = e.from;
        return {
          expectation: e,
          ok: low === null,
          detail: low === null ? `level >= ${e.minLevel} throughout` : `below ${e.minLevel} at ${iso(low)}`,
        };
      }
      case 'reason': {
        const c = changes.find((x) => x.reasons.some((r) => r.rule === e.rule));
        return {
          expectation: e,
          ok: c !== undefined,
          detail: c ? `reason ${e.rule} at ${iso(c.ts)}` : `no level change gave reason ${e.rule}`,
        };
      }
    }
    return { expectation: e, ok: false, detail: 'unknown expectation' };
  });
}
