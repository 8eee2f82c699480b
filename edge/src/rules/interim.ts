import { type Static, Type } from '@sinclair/typebox';
import { type Level, type Reading, validator } from '@slopeguard/core';
import type { LevelChange, LocalRules } from './types.ts';

/**
 * INTERIM, until core/engine lands: per-sensor thresholds on a raw field, with a hold-down. It exists
 * so that local autonomy (outputs driven without the uplink) works and is tested end to end now; the
 * real engine replaces it behind the same LocalRules seam (rules/index.ts).
 */
export const ThresholdRules = Type.Object(
  {
    thresholds: Type.Array(
      Type.Object(
        {
          sensor: Type.String({ minLength: 1 }),
          field: Type.String({ minLength: 1 }),
          above: Type.Number(),
          level: Type.Integer({ minimum: 1, maximum: 4 }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1 },
    ),
    holdMs: Type.Optional(
      Type.Integer({ minimum: 0, description: 'hold-down after the last trigger, default 1 h' }),
    ),
  },
  { additionalProperties: false },
);
export type ThresholdRules = Static<typeof ThresholdRules>;
export const checkThresholdRules = validator(ThresholdRules);

interface Saved {
  level: Level;
  lastTrigger: number;
}

export function createThresholdRules(config: ThresholdRules, saved?: unknown): LocalRules {
  const s = saved as Partial<Saved> | undefined;
  let level: Level = typeof s?.level === 'number' ? s.level : 0;
  let lastTrigger = typeof s?.lastTrigger === 'number' ? s.lastTrigger : 0;
  const holdMs = config.holdMs ?? 3_600_000;

  function set(ts: number, next: Level, reasons: LevelChange['reasons']): LevelChange[] {
    if (next === level) return [];
    const change = { ts, level: next, previous: level, reasons };
    level = next;
    return [change];
  }

  return {
    get level() {
      return level;
    },
    push(r: Reading) {
      let hit: Level = 0;
      const reasons: LevelChange['reasons'] = [];
      for (const t of config.thresholds) {
        const v = r.values[t.field];
        if (t.sensor !== r.sensor || v === undefined || !(v > t.above)) continue;
        if (t.level > hit) hit = t.level as Level;
        reasons.push({ rule: 'threshold', level: t.level, sensor: r.sensor, value: v, threshold: t.above });
      }
      if (hit === 0) return [];
      lastTrigger = r.ts;
      return hit > level ? set(r.ts, hit, reasons) : [];
    },
    tick(ts: number) {
      if (level > 0 && ts - lastTrigger >= holdMs) return set(ts, 0, [{ rule: 'hold-down expired' }]);
      return [];
    },
    release(ts: number, operator: string) {
      return set(ts, 0, [{ rule: 'release', text: `released by ${operator}` }]);
    },
    state(): Saved {
      return { level, lastTrigger };
    },
  };
}
