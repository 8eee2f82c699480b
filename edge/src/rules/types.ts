import type { Level, Reading } from '@slopeguard/core';
import type { LevelChange, SensorHealth } from '@slopeguard/core/engine/index.ts';

export type { LevelChange, SensorHealth };

/**
 * The seam between the gateway and the rule engine (core/engine, the same engine the control center
 * runs). The gateway feeds every reading of its own sensors and a periodic tick; it persists
 * `state()` so that a restart resumes the level (a siren that is on stays on across a watchdog restart).
 */
export interface LocalRules {
  readonly level: Level;
  push(reading: Reading): LevelChange[];
  tick(ts: number): LevelChange[];
  release(ts: number, operator: string): LevelChange[];
  state(): unknown;
  health(): Record<string, SensorHealth>;
}
