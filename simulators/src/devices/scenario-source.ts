import type { SensorKind } from '@slopeguard/core';
import type { ValueSource } from './signal.ts';

/**
 * Drives a virtual device from a scenario model (simulators/src/scenarios): the seam between the
 * physics and the protocol. Declared structurally so that it needs nothing from the scenarios
 * module but `start` and `valuesAt` (values in contract units; rain as mm over an interval; null
 * while a sensor is silent).
 */
export interface ScenarioLike {
  readonly start: number;
  valuesAt(ts: number, intervalMs?: number): Record<string, Record<string, number> | null>;
}

export interface ScenarioSourceOptions {
  kind: SensorKind;
  /** Real epoch ms that corresponds to the scenario's start (default: the first sample). */
  anchor?: number;
  /** Scenario ms per real ms (default 1: real time). */
  speed?: number;
  /**
   * How a rain device reports: a cumulative tip count of `mmPerCount` buckets (Modbus and line
   * counters; the default, 0.2 mm) or a cumulative `total_mm` (SDI-12 gauges).
   */
  rain?: { as: 'count'; mmPerCount: number } | { as: 'total_mm' };
}

export function scenarioSource(run: ScenarioLike, sensorId: string, o: ScenarioSourceOptions): ValueSource {
  const speed = o.speed ?? 1;
  let anchor = o.anchor;
  let lastTs: number | undefined;
  let totalMm = 0;
  const rain = o.rain ?? { as: 'count', mmPerCount: 0.2 };
  return (now) => {
    anchor ??= now;
    const ts = Math.round(run.start + (now - anchor) * speed);
    if (o.kind !== 'rain') return run.valuesAt(ts)[sensorId] ?? null;
    // Rain: the scenario gives mm over an interval; a gauge keeps a running total.
    const since = lastTs;
    lastTs = ts;
    if (since !== undefined && ts > since) {
      const v = run.valuesAt(ts, ts - since)[sensorId];
      if (v === null || v === undefined) return null;
      totalMm += v.mm ?? 0;
    }
    if (rain.as === 'total_mm') return { total_mm: Math.round(totalMm * 1e6) / 1e6 };
    return { count: Math.floor(totalMm / rain.mmPerCount + 1e-9) };
  };
}
