import { validateReading } from '@slopeguard/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SCENARIO_NAMES, SCENARIOS, type ScenarioRun } from '../../src/scenarios/index.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const get = (name: string, o = {}) => SCENARIOS[name]?.create(o) as ScenarioRun;
const take = (run: ScenarioRun, n: number) => {
  const out = [];
  for (const r of run.readings()) {
    out.push(r);
    if (out.length >= n) break;
  }
  return out;
};

describe('scenario models', () => {
  afterEach(() => vi.restoreAllMocks());

  it('registers the five scenarios of the issue', () => {
    expect(SCENARIO_NAMES).toEqual([
      'umyeonsan-2011',
      'heavy-rain-stable',
      'slow-creep',
      'sensor-faults',
      'silent-storm',
    ]);
  });

  it('produces valid readings in time order, reproducible from the seed, without Math.random', () => {
    vi.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('Math.random used');
    });
    for (const name of SCENARIO_NAMES) {
      const a = take(get(name, { seed: 7 }), 3000);
      const b = take(get(name, { seed: 7 }), 3000);
      const c = take(get(name, { seed: 8 }), 3000);
      expect(a).toEqual(b);
      expect(a).not.toEqual(c);
      for (let i = 1; i < a.length; i++) expect((a[i]?.ts ?? 0) >= (a[i - 1]?.ts ?? 0)).toBe(true);
      for (const r of a) expect(validateReading(r).ok).toBe(true);
    }
  });

  it('generates lazily: the first readings of three weeks at 1-s sampling come at once', () => {
    const run = get('slow-creep', { intervalMs: 1000 });
    const t0 = performance.now();
    expect(take(run, 1000)).toHaveLength(1000);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect((run.end - run.start) / run.intervalMs).toBeGreaterThan(1.8e6);
  });

  it('valuesAt gives the readings of any instant, and shifts with the start option', () => {
    const run = get('umyeonsan-2011', { intervalMs: 5 * MIN });
    const ts = run.start + 40 * HOUR;
    const fromStream = [...run.readings()].filter((r) => r.ts === ts);
    const values = run.valuesAt(ts);
    expect(Object.fromEntries(fromStream.map((r) => [r.sensor, r.values]))).toEqual(values);
    expect(run.readingsAt(ts)).toEqual(fromStream);
    const shifted = get('umyeonsan-2011', { intervalMs: 5 * MIN, start: run.start + 7 * HOUR });
    expect(shifted.failureAt).toBe((run.failureAt ?? 0) + 7 * HOUR);
    expect(shifted.valuesAt(ts + 7 * HOUR)).toEqual(values);
  });

  it('umyeonsan: the gauges carry the published totals (docs/domain.md) at any sampling interval', () => {
    // 16:20 KST 26 July to 07:40 on 27 July, and the hour after.
    const from = Date.UTC(2011, 6, 26, 7, 20);
    const to = Date.UTC(2011, 6, 26, 22, 40);
    for (const intervalMs of [MIN, 10 * MIN, 20 * MIN]) {
      const run = get('umyeonsan-2011', { intervalMs });
      const sum = (sensor: string, a: number, b: number) => {
        let mm = 0;
        for (const r of run.readings())
          if (r.sensor === sensor && r.ts > a && r.ts <= b) mm += r.values.mm ?? 0;
        return mm;
      };
      expect(sum('rain-1', from, to)).toBeCloseTo(266.5, 0);
      expect(sum('rain-1', to, to + HOUR)).toBeCloseTo(112.5, 0);
      expect(sum('rain-2', from, to)).toBeCloseTo(230, 0);
      expect(sum('rain-2', to, to + HOUR)).toBeCloseTo(85.5, 0);
    }
  });

  it('umyeonsan: the slope accelerates with 1/v falling linearly to the failure, then the sensors die', () => {
    const run = get('umyeonsan-2011', { intervalMs: 10 * MIN });
    const failureAt = run.failureAt ?? 0;
    const x = (t: number) =>
      (run.valuesAt(t)['ext-1']?.mm ?? Number.NaN) - (run.valuesAt(t - HOUR)['ext-1']?.mm ?? 0);
    // Velocity over the hour ending 4 h, 2 h and 1 h before: about 8/(hours left) mm/h.
    expect(x(failureAt - 4 * HOUR)).toBeCloseTo(8 * Math.log(5 / 4), 0);
    expect(x(failureAt - HOUR)).toBeCloseTo(8 * Math.log(2), 0);
    expect(run.valuesAt(failureAt)['ext-1']).toBeNull();
    expect(run.valuesAt(failureAt)['rain-1']).not.toBeNull();
  });
});
