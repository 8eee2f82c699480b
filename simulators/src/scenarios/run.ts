import type { Reading } from '@slopeguard/core';
import type { SiteConfig } from '@slopeguard/core/engine/index.ts';
import { readingsAt, type SensorModel } from './models.ts';
import type { Expectation, InjectedFault, ScenarioRun, SensorValues } from './types.ts';

export interface RunDefinition {
  name: string;
  title: string;
  description: string;
  config: SiteConfig;
  models: readonly SensorModel[];
  start: number;
  end: number;
  intervalMs: number;
  failureAt: number | null;
  expectations: Expectation[];
  faults?: InjectedFault[];
}

/** Wraps sensor models into a scenario run: lazy readings, values at any instant. */
export function makeRun(d: RunDefinition): ScenarioRun {
  if (!(d.intervalMs > 0)) throw new RangeError(`intervalMs must be positive, got ${d.intervalMs}`);
  const models = d.models;
  return {
    name: d.name,
    title: d.title,
    description: d.description,
    config: d.config,
    sensors: models.map((m) => ({ id: m.id, kind: m.kind })),
    start: d.start,
    end: d.end,
    intervalMs: d.intervalMs,
    failureAt: d.failureAt,
    expectations: d.expectations,
    faults: d.faults ?? [],
    *readings(): Generator<Reading> {
      for (let ts = d.start; ts <= d.end; ts += d.intervalMs) yield* readingsAt(models, ts, d.intervalMs);
    },
    valuesAt(ts, intervalMs = d.intervalMs): SensorValues {
      const out: SensorValues = {};
      for (const m of models) out[m.id] = m.value(ts, intervalMs);
      return out;
    },
    readingsAt: (ts, intervalMs = d.intervalMs) => readingsAt(models, ts, intervalMs),
  };
}
