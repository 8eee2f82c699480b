/**
 * The rule thresholds a backtest may change, by their path under a site configuration's `rules`,
 * with their unit and an upper bound. One list for the route's closed body schema (backtest.ts) and
 * the dashboard's form (web/backtest.ts), so the two cannot disagree. Pure data: the dashboard
 * bundles it. The bounds are far above any real threshold; they only stop absurd values (1e308)
 * before they reach the engine. Settings that are not thresholds (windows, bins, health) are left
 * out: changing them is a site-file edit, tried with `slopeguard backtest --site`.
 */
export interface Threshold {
  /** Path under `rules`, e.g. `rain.level1.mm3h`. */
  path: string;
  unit: string;
  max: number;
  /** Optional in the site file (no default): the form shows it blank when the site sets none. */
  optional?: boolean;
}

export const BACKTEST_THRESHOLDS: readonly Threshold[] = [
  { path: 'rain.level1.mm3h', unit: 'mm', max: 2000 },
  { path: 'rain.level1.mm12h', unit: 'mm', max: 5000 },
  { path: 'rain.level2.mm3h', unit: 'mm', max: 2000 },
  { path: 'rain.level2.mm12h', unit: 'mm', max: 5000 },
  { path: 'rain.swi.criticalMm', unit: 'mm', max: 5000, optional: true },
  { path: 'tilt.level1.degPerHour', unit: '°/h', max: 100 },
  { path: 'tilt.level2.degPerHour', unit: '°/h', max: 100 },
  { path: 'displacement.level1.mmPerDay', unit: 'mm/day', max: 100_000 },
  { path: 'displacement.level2.mmPerDay', unit: 'mm/day', max: 100_000 },
  { path: 'displacement.level2.mmPerHour', unit: 'mm/h', max: 10_000 },
  { path: 'displacement.level3.mmPerHour', unit: 'mm/h', max: 10_000 },
  { path: 'displacement.level4.mmPerHour', unit: 'mm/h', max: 10_000 },
  { path: 'displacement.level4.forecastHours', unit: 'h', max: 720 },
  { path: 'displacement.cumulative.mm', unit: 'mm', max: 100_000, optional: true },
  { path: 'holdDown.hours', unit: 'h', max: 720 },
];

/** The value at `path` under `rules`, when it is a number. */
export function thresholdOf(rules: unknown, path: string): number | undefined {
  let node: unknown = rules;
  for (const k of path.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return typeof node === 'number' ? node : undefined;
}
