import { parseSiteConfig, type SiteConfig } from '@slopeguard/core/engine/index.ts';
import type { ScoreSummary } from './score.ts';

/**
 * Threshold sweeps: every combination of the swept settings, each scored against the known events;
 * the Pareto front of detection against false alarms, and a recommendation at a false-alarm
 * budget. Pure; the runs themselves happen on worker threads (sweep-pool.ts).
 */
export interface SweepAxis {
  path: string;
  values: number[];
}

export class SweepError extends Error {}

const MAX_COMBINATIONS = 10_000;

/** `rules.rain.swi.criticalMm=60:160:5`: FROM to TO inclusive by STEP (STEP > 0, FROM <= TO). */
export function parseSweep(spec: string): SweepAxis {
  const m = /^([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*)=([^:]+):([^:]+):([^:]+)$/.exec(spec);
  if (!m) throw new SweepError(`--sweep ${JSON.stringify(spec)}: expected PATH=FROM:TO:STEP`);
  const [from, to, step] = [m[2], m[3], m[4]].map(Number) as [number, number, number];
  if (![from, to, step].every(Number.isFinite) || step <= 0 || from > to)
    throw new SweepError(`--sweep ${spec}: FROM, TO and STEP must be numbers with STEP > 0 and FROM <= TO`);
  const values: number[] = [];
  // Counted in steps (not by adding STEP) so that 0.1 steps do not drift.
  for (let k = 0; ; k++) {
    const v = Number((from + k * step).toPrecision(12));
    if (v > to + step * 1e-9) break;
    values.push(v);
    if (values.length > MAX_COMBINATIONS)
      throw new SweepError(`--sweep ${spec}: more than ${MAX_COMBINATIONS} values`);
  }
  return { path: m[1] as string, values };
}

/** Every combination, first axis slowest. */
export function combinations(axes: readonly SweepAxis[]): number[][] {
  let out: number[][] = [[]];
  for (const a of axes) out = out.flatMap((c) => a.values.map((v) => [...c, v]));
  if (out.length > MAX_COMBINATIONS) throw new SweepError(`more than ${MAX_COMBINATIONS} combinations`);
  return out;
}

/**
 * The site configuration with `path` set to `value`, validated: the path must name a numeric
 * setting of the schema (present, or optional and absent like `rules.rain.swi.criticalMm`).
 */
export function withSetting(base: SiteConfig, path: string, value: number): SiteConfig {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  const keys = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    // Arrays by index: rules.rain.criticalLine.points.1.rain60Mm.
    const next = Array.isArray(node) && !/^\d+$/.test(k) ? undefined : node[k];
    if (typeof next !== 'object' || next === null)
      throw new SweepError(`--sweep ${path}: ${k} is not a group of settings`);
    node = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1] as string;
  if (last in node && typeof node[last] !== 'number')
    throw new SweepError(`--sweep ${path}: not a numeric setting`);
  node[last] = value;
  const r = parseSiteConfig(copy);
  if (!r.ok) throw new SweepError(`--sweep ${path}=${value}: ${r.errors.join('; ')}`);
  return r.config;
}

export interface SweepResult {
  values: number[];
  summary: ScoreSummary;
  pareto: boolean;
}

const better = (a: ScoreSummary, b: ScoreSummary) =>
  (a.pod ?? 0) >= (b.pod ?? 0) &&
  (a.falsePerYear ?? 0) <= (b.falsePerYear ?? 0) &&
  ((a.pod ?? 0) > (b.pod ?? 0) || (a.falsePerYear ?? 0) < (b.falsePerYear ?? 0));

/** Marks the Pareto front of detection (higher) against false alarms per year (lower). */
export function markPareto(results: { values: number[]; summary: ScoreSummary }[]): SweepResult[] {
  return results.map((r) => ({
    ...r,
    pareto: !results.some((o) => o !== r && better(o.summary, r.summary)),
  }));
}

/**
 * The recommended setting: within the false-alarm budget, the best detection; then the longest
 * median lead time, the longest worst lead time, the fewest false alarms, and finally the lowest
 * values (ties broken the same way every run). Null when no setting fits the budget.
 */
export function recommend(results: readonly SweepResult[], maxFalsePerYear: number): SweepResult | null {
  const fits = results.filter((r) => (r.summary.falsePerYear ?? 0) <= maxFalsePerYear + 1e-12);
  const key = (r: SweepResult) => [
    -(r.summary.pod ?? 0),
    -(r.summary.leadMedianMs ?? Number.NEGATIVE_INFINITY),
    -(r.summary.leadWorstMs ?? Number.NEGATIVE_INFINITY),
    r.summary.falsePerYear ?? 0,
    ...r.values,
  ];
  let best: SweepResult | null = null;
  for (const r of fits) {
    if (best === null) {
      best = r;
      continue;
    }
    const a = key(r);
    const b = key(best);
    for (let i = 0; i < a.length; i++) {
      if ((a[i] as number) < (b[i] as number)) {
        best = r;
        break;
      }
      if ((a[i] as number) > (b[i] as number)) break;
    }
  }
  return best;
}
