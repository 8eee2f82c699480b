import type { Level, LevelReason, Reading } from '@slopeguard/core';

/** A change of the local level, as the engine reports it. */
export interface LevelChange {
  ts: number;
  level: Level;
  previous: Level;
  reasons: LevelReason[];
}

/**
 * The seam between the gateway and the rule engine (core/engine). The gateway feeds every reading of
 * its own sensors and a periodic tick; it persists `state()` so that a restart resumes the level
 * (a siren that is on stays on across a watchdog restart).
 */
export interface LocalRules {
  readonly level: Level;
  push(reading: Reading): LevelChange[];
  tick(ts: number): LevelChange[];
  release(ts: number, operator: string): LevelChange[];
  state(): unknown;
}
