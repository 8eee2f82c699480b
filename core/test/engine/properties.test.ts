import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createEngine,
  type Engine,
  type EngineState,
  type LevelChange,
  siteConfig,
} from '../../src/engine/index.ts';
import type { Reading } from '../../src/schemas/reading.ts';
import { disp, HOUR, noise, rain, T0, tilt } from './helpers.ts';

const config = siteConfig({
  id: 's',
  sensors: [
    { id: 'r1', kind: 'rain' },
    { id: 'r2', kind: 'rain' },
    { id: 't1', kind: 'tilt' },
    { id: 'e1', kind: 'displacement' },
    { id: 'e2', kind: 'displacement' },
  ],
  rules: { rain: { swi: { criticalMm: 150 } } },
});

type Input = { r: Reading } | { tick: number } | { release: number };

/**
 * A day and a half of a storm over an accelerating slope, with noise, a spike, a step, dropouts,
 * jittered timestamps, readings slightly out of order across sensors, duplicates, a reading stamped
 * far in the future, ticks and an operator release: everything that carries state.
 */
function scenario(seed: number, stepMs: number): Input[] {
  const n = noise(seed);
  const out: Input[] = [];
  const tf = T0 + 36 * HOUR;
  let k = 0;
  for (let t = T0; t < tf - 20 * 60_000; t += stepMs, k++) {
    const h = (t - T0) / HOUR;
    const jitter = () => Math.round(n() * stepMs * 0.2);
    const wet = h > 4 && h < 24 ? 8 * Math.exp(-(((h - 14) / 5) ** 2)) : 0;
    const x = h < 6 ? 0 : -25 * Math.log((36 - h) / 30);
    const batch: Reading[] = [
      rain('r1', t + jitter(), Math.max(0, (wet * stepMs) / HOUR + 0.05 * n())),
      rain('r2', t + jitter(), (wet * 0.8 * stepMs) / HOUR),
      tilt('t1', t + jitter(), 0.2 + x * 0.01 + 0.0005 * n(), 0.1 - x * 0.005 + 0.0005 * n()),
      disp('e1', t + jitter(), 10 + x + (k === 40 ? 25 : 0) + 0.05 * n()),
      disp('e2', t + jitter(), 5 + 0.7 * x + (h > 8 ? 6 : 0) + 0.05 * n()),
    ];
    if (h > 18 && h < 19) batch.pop(); // e2 drops out for an hour
    if (k % 37 === 5) batch.push(batch[0] as Reading); // duplicate
    batch.sort(() => 0); // keep order; disorder comes from jitter
    for (const r of batch) out.push({ r });
    if (k % 50 === 0) out.push({ tick: t + stepMs / 2 });
    // A gateway clock gone wrong once: held (state carries it), then dropped by e2's next reading.
    if (k === 60) out.push({ r: disp('e2', tf + 1000 * HOUR, 0) });
  }
  out.push({ release: tf + HOUR });
  out.push({ tick: tf + 40 * HOUR });
  return out;
}

function run(engine: Engine, inputs: Input[]): LevelChange[] {
  const out: LevelChange[] = [];
  for (const i of inputs) {
    if ('r' in i) out.push(...engine.push(i.r));
    else if ('tick' in i) out.push(...engine.tick(i.tick));
    else out.push(...engine.release(i.release, 'operator-1'));
  }
  return out;
}

const roundTrip = (s: EngineState): EngineState => JSON.parse(JSON.stringify(s));

describe('acceptance 4: determinism and resumability', () => {
  const cases = [
    { seed: 1, step: 10 * 60_000 },
    { seed: 2, step: 5 * 60_000 },
  ];
  const streams = cases.map((c) => scenario(c.seed, c.step));

  it('the scenario exercises every level and the release', () => {
    const ch = run(createEngine(config), streams[0] as Input[]);
    expect(new Set(ch.map((c) => c.level))).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(ch.some((c) => c.reasons.some((r) => r.rule === 'operator_release'))).toBe(true);
  });

  it('the same readings in the same order give identical output', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 1), (i) => {
        const inputs = streams[i] as Input[];
        const a = createEngine(config);
        const b = createEngine(config);
        expect(run(a, inputs)).toEqual(run(b, inputs));
        expect(a.state()).toEqual(b.state());
      }),
      { numRuns: 2 },
    );
  });

  it('splitting the stream anywhere and resuming from the saved (JSON) state gives identical output', () => {
    const whole = streams.map((s) => run(createEngine(config), s));
    fc.assert(
      fc.property(
        fc.constantFrom(0, 1),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 3 }),
        (i, fractions) => {
          const inputs = streams[i] as Input[];
          const cuts = [...new Set(fractions.map((f) => Math.floor(f * inputs.length)))].sort(
            (x, y) => x - y,
          );
          let engine = createEngine(config);
          const out: LevelChange[] = [];
          let from = 0;
          for (const cut of [...cuts, inputs.length]) {
            out.push(...run(engine, inputs.slice(from, cut)));
            engine = createEngine(config, roundTrip(engine.state()));
            from = cut;
          }
          expect(out).toEqual(whole[i]);
        },
      ),
      { numRuns: 25, seed: 4242 },
    );
  });

  it('refuses a state from another site or version with a coded error', () => {
    const state = createEngine(config).state();
    const other = siteConfig({ id: 'other', sensors: [{ id: 'r1', kind: 'rain' }] });
    expect(() => createEngine(other, state)).toThrow(expect.objectContaining({ code: 'SG_ENGINE_STATE' }));
    expect(() => createEngine(config, { ...state, v: 3 } as unknown as EngineState)).toThrow(
      expect.objectContaining({ code: 'SG_ENGINE_STATE' }),
    );
  });
});
