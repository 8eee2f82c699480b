import type { LevelReason } from '../schemas/messages.ts';

/**
 * A level reason as the engine writes it: the contract's LevelReason (rule, level, sensor, value,
 * threshold, window, text) plus the extra fields its schema allows, named here so they stay uniform.
 */
export type Reason = LevelReason & {
  /** Unit of value and threshold, e.g. "mm", "deg/h", "mm/day", "h to failure". */
  unit?: string;
  /** Forecast time of failure (epoch ms) and R^2 of the inverse-velocity fit. */
  tf?: number;
  r2?: number;
  /** Who released level 4. */
  operator?: string;
};
