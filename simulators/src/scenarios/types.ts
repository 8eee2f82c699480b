import type { Level, Reading, SensorKind } from '@slopeguard/core';
import type { SiteConfig } from '@slopeguard/core/engine/index.ts';

/**
 * A scenario: a physical model of one monitored site over a period, producing reading streams at
 * any sampling interval with seeded noise, and declaring what a good warning system must do.
 * Tests, the demo, virtual serial devices and benchmarks all use the same models.
 */
export interface ScenarioOptions {
  /** Noise seed (default 1). Same seed, same readings. */
  seed?: number;
  /** Sampling interval of every sensor (default: the scenario's own). */
  intervalMs?: number;
  /** Epoch ms the scenario starts at (default: its historical or nominal date). Shifts everything. */
  start?: number;
}

/** What a good system must do, machine-checkable (see expect.ts). */
export type Expectation =
  | { kind: 'lead'; minLevel: Level; leadMs: number; text: string }
  | { kind: 'by'; minLevel: Level; by: number; text: string }
  | { kind: 'never-above'; maxLevel: Level; text: string }
  | { kind: 'during'; minLevel: Level; from: number; to: number; text: string }
  | { kind: 'reason'; rule: string; text: string };

/** A fault injected into one sensor, for tests that check the engine's health verdicts. */
export interface InjectedFault {
  sensor: string;
  kind: 'stuck' | 'spike' | 'step' | 'drift' | 'dropout' | 'out_of_range';
  from: number;
  to: number;
  /** Size in the sensor's unit (mm or deg; deg/h for drift). */
  size: number;
}

/** Per-sensor values at one instant: value fields, or null when the sensor is silent. */
export type SensorValues = Record<string, Record<string, number> | null>;

export interface ScenarioRun {
  name: string;
  title: string;
  description: string;
  config: SiteConfig;
  sensors: readonly { id: string; kind: SensorKind }[];
  start: number;
  end: number;
  intervalMs: number;
  /** When the slope fails, or null. */
  failureAt: number | null;
  expectations: Expectation[];
  faults: InjectedFault[];
  /** Every reading from start to end, in time order, generated lazily (bounded memory). */
  readings(): Generator<Reading>;
  /**
   * Values of every sensor at `ts`. Rain is the mm fallen over (ts - intervalMs, ts]; pass the
   * caller's own interval when sampling live at another rate.
   */
  valuesAt(ts: number, intervalMs?: number): SensorValues;
  /** The readings of one sampling instant (a `ReadingSource` for the demo's story driver). */
  readingsAt(ts: number, intervalMs?: number): Reading[];
}

export interface Scenario {
  name: string;
  title: string;
  /** Default sampling interval and duration. */
  intervalMs: number;
  create(options?: ScenarioOptions): ScenarioRun;
}
