import { levelLabel } from '@slopeguard/core';
import { createEngine, type LevelChange } from '@slopeguard/core/engine/index.ts';
import { describe, expect, it } from 'vitest';
import { checkExpectations, SCENARIOS, type ScenarioRun } from '../../src/scenarios/index.ts';

/**
 * Acceptance 1: every scenario's declared expectation holds, at several sampling intervals and
 * seeds, with the lead times printed.
 */
function replay(run: ScenarioRun) {
  const engine = createEngine(run.config);
  const changes: LevelChange[] = [];
  for (const r of run.readings()) changes.push(...engine.push(r));
  changes.push(...engine.tick(run.end));
  return { engine, changes };
}

const MIN = 60_000;
const CASES = [
  { intervalMs: MIN, seed: 1 },
  { intervalMs: 10 * MIN, seed: 1 },
  { intervalMs: 10 * MIN, seed: 2 },
  { intervalMs: 10 * MIN, seed: 3 },
];

describe('acceptance 1: every scenario meets its declared expectations', () => {
  for (const scenario of Object.values(SCENARIOS)) {
    for (const c of CASES) {
      it(`${scenario.name} at ${c.intervalMs / MIN} min, seed ${c.seed}`, () => {
        const run = scenario.create(c);
        const { changes } = replay(run);
        const results = checkExpectations(run.expectations, changes, run.failureAt);
        const lines = results.map(
          (r) => `  ${r.ok ? 'ok    ' : 'FAILED'} ${r.expectation.text}: ${r.detail}`,
        );
        const path = changes.map((ch) => levelLabel(ch.level)).join(' -> ') || 'stayed 정상 Normal';
        console.log(`${run.name} @ ${c.intervalMs / MIN} min, seed ${c.seed}: ${path}\n${lines.join('\n')}`);
        expect(results.length).toBeGreaterThan(0);
        expect(results.filter((r) => !r.ok).map((r) => `${r.expectation.text}: ${r.detail}`)).toEqual([]);
      });
    }
  }
});

describe('the engine sees each injected fault in its health', () => {
  it('sensor-faults: stuck, spikes, step, dropout and out-of-range are each flagged, at the right time', () => {
    const run = SCENARIOS['sensor-faults']?.create({ intervalMs: 10 * MIN }) as ScenarioRun;
    const engine = createEngine(run.config);
    const seen = new Map<string, Set<string>>();
    const faultsNow = (ts: number) =>
      run.faults.filter((f) => ts >= f.from && ts <= f.to + 2 * run.intervalMs);
    for (const r of run.readings()) {
      engine.push(r);
      for (const f of faultsNow(r.ts)) {
        const h = engine.health()[f.sensor];
        if (!h) continue;
        const key = `${f.sensor}/${f.kind}`;
        const set = seen.get(key) ?? new Set<string>();
        set.add(h.status);
        if (h.spikes > 0) set.add('spike counted');
        if (h.steps > 0) set.add('step counted');
        if (h.outOfRange > 0) set.add('out of range counted');
        seen.set(key, set);
      }
    }
    expect(seen.get('tilt-1/stuck')).toContain('stuck');
    expect(seen.get('ext-1/spike')).toContain('spike counted');
    expect(seen.get('ext-2/step')).toContain('stepped');
    expect(seen.get('ext-1/dropout')).toContain('stale');
    expect(seen.get('rain-1/out_of_range')).toContain('out_of_range');
    expect(engine.health()['ext-1']?.spikes).toBe(2);
    expect(engine.health()['ext-2']?.steps).toBe(1);
  });

  it('umyeonsan: a time-of-failure forecast is part of the state while the slope accelerates', () => {
    const run = SCENARIOS['umyeonsan-2011']?.create({ intervalMs: 5 * MIN }) as ScenarioRun;
    const engine = createEngine(run.config);
    let forecastAt: number | null = null;
    let tf = 0;
    for (const r of run.readings()) {
      engine.push(r);
      const f = engine.forecasts()['ext-1'];
      if (f && f.r2 >= 0.9 && forecastAt === null) {
        forecastAt = r.ts;
        tf = f.tf;
      }
    }
    const failureAt = run.failureAt ?? 0;
    expect(forecastAt).not.toBeNull();
    expect(failureAt - (forecastAt ?? failureAt)).toBeGreaterThan(2 * 3_600_000);
    expect(Math.abs(tf - failureAt)).toBeLessThan(2 * 3_600_000);
    console.log(
      `umyeonsan: first good forecast at ${new Date(forecastAt ?? 0).toISOString()} ` +
        `says ${new Date(tf).toISOString()}, failure at ${new Date(failureAt).toISOString()}`,
    );
  });
});
