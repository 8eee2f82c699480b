import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine, siteConfig } from '../../src/engine/index.ts';
import type { Reading } from '../../src/schemas/reading.ts';
import { disp, feed, HOUR, MIN, maxLevel, noise, rain, T0, tilt } from './helpers.ts';

const SENSORS = [
  { id: 'r1', kind: 'rain' },
  { id: 't1', kind: 'tilt' },
  { id: 'e1', kind: 'displacement' },
];
const config = siteConfig({ id: 's', sensors: SENSORS });

type Fault = { kind: 'spike' | 'step' | 'stuck' | 'dropout'; sensor: 't1' | 'e1'; at: number; size: number };

/** A quiet site (no rain, no movement, realistic noise) with one fault injected. */
function quietSite(hours: number, step: number, fault: Fault | null, seed = 1, rainMm = 0): Reading[] {
  const n = noise(seed);
  const out: Reading[] = [];
  let k = 0;
  for (let t = T0; t <= T0 + hours * HOUR; t += step, k++) {
    const h = (t - T0) / HOUR;
    out.push(rain('r1', t, rainMm));
    let x = 0.3 + 0.0005 * n();
    let y = -0.2 + 0.0005 * n();
    let mm = 12 + 0.05 * n();
    const f = fault;
    if (f && h >= f.at) {
      const first = h - f.at < step / HOUR;
      const on =
        f.kind === 'step' || (f.kind === 'spike' && first) || f.kind === 'stuck' || f.kind === 'dropout';
      if (on && f.kind === 'dropout') {
        if (f.sensor === 't1') out.push(disp('e1', t, mm));
        else out.push(tilt('t1', t, x, y));
        continue;
      }
      if (on && f.kind === 'stuck') {
        x = 0.3;
        y = -0.2;
        mm = 12;
      } else if (on) {
        x += f.size * 0.1;
        mm += f.size * 10;
      }
    }
    void k;
    out.push(tilt('t1', t, x, y));
    out.push(disp('e1', t, mm));
  }
  return out;
}

describe('sensor health', () => {
  it('a sensor is stale after 3 sampling intervals without a reading, and ok again when it reports', () => {
    const e = createEngine(config);
    feed(e, quietSite(2, MIN, null));
    expect(e.health().e1?.status).toBe('ok');
    expect(e.tick(T0 + 2 * HOUR + 2 * MIN)).toEqual([]);
    expect(e.health().e1?.status).toBe('ok');
    expect(e.tick(T0 + 2 * HOUR + 3 * MIN)).toEqual([]);
    expect(e.health().e1?.status).toBe('ok'); // a reading due now would be on time
    e.tick(T0 + 2 * HOUR + 4 * MIN);
    expect(e.health().e1).toMatchObject({
      status: 'stale',
      healthy: false,
      since: T0 + 2 * HOUR + 3 * MIN + 1,
    });
    e.push(disp('e1', T0 + 3 * HOUR, 12));
    expect(e.health().e1?.status).toBe('ok');
  });

  it('flags stuck, out-of-range, spiking and stepped sensors', () => {
    const e = createEngine(config);
    feed(e, quietSite(1, MIN, null));
    let t = T0 + HOUR + MIN;
    const next = () => {
      t += MIN;
      return t;
    };
    for (let i = 0; i < 30; i++, t += MIN) e.push(disp('e1', t, 12.02));
    expect(e.health().e1?.status).toBe('stuck');
    e.push(disp('e1', t, 12.01));
    expect(e.health().e1?.status).toBe('ok');
    t += MIN;
    e.push(tilt('t1', t, 45, 0));
    expect(e.health().t1).toMatchObject({ status: 'out_of_range', outOfRange: 1 });
    t += MIN;
    e.push(tilt('t1', t, 0.3, -0.2));
    expect(e.health().t1?.status).toBe('ok');
    for (let i = 0; i < 3; i++) {
      t += MIN;
      e.push(disp('e1', t, 40));
      for (let j = 0; j < 5; j++) e.push(disp('e1', next(), 12 + 0.01 * j));
    }
    expect(e.health().e1).toMatchObject({ status: 'spiking', spikes: 3 });
    for (let i = 0; i < 60; i++) e.push(disp('e1', next(), 12 + 0.01 * (i % 3)));
    expect(e.health().e1?.status).toBe('ok');
    for (let i = 0; i < 5; i++) e.push(disp('e1', next(), 30 + 0.01 * (i % 3)));
    expect(e.health().e1).toMatchObject({ status: 'stepped', steps: 1 });
    for (let i = 0; i < 55; i++) e.push(disp('e1', next(), 30 + 0.01 * (i % 3)));
    expect(e.health().e1?.status).toBe('stepped');
    for (let i = 0; i < 5; i++) e.push(disp('e1', next(), 30 + 0.01 * (i % 3)));
    expect(e.health().e1?.status).toBe('ok'); // quarantine of 60 min over
    expect(e.level).toBe(0);
  });

  it('shows "no data" as level 1 when every movement sensor is unhealthy while rain is at level 1', () => {
    const e = createEngine(config);
    const readings = quietSite(1, 10 * MIN, null).filter((r) => r.sensor !== 'r1');
    feed(e, readings);
    // Rain at 25 mm/h; the movement sensors fell silent at T0 + 1 h.
    const ch: ReturnType<typeof e.push> = [];
    for (let t = T0; t <= T0 + 5 * HOUR; t += 10 * MIN) ch.push(...e.push(rain('r1', t, 25 / 6)));
    const nd = ch.find((c) => c.reasons.some((r) => r.rule === 'no_data'));
    expect(nd).toBeDefined();
    expect(nd?.level).toBe(1);
    expect(nd?.reasons.find((r) => r.rule === 'no_data')?.text).toMatch(/t1 stale, e1 stale/);
  });

  it('rejects and counts readings older than the sensor last one; accepts disorder across sensors', () => {
    const e = createEngine(config);
    e.push(disp('e1', T0 + 10_000, 12));
    e.push(tilt('t1', T0 + 9_000, 0, 0)); // older than e1's, but t1's first: accepted
    e.push(disp('e1', T0 + 5_000, 12)); // older than e1's last: rejected
    e.push(disp('e1', T0 + 10_000, 12)); // duplicate time: rejected
    e.push({ sensor: 'nope', kind: 'rain', ts: T0, values: { mm: 1 } });
    e.push({ sensor: 'e1', kind: 'rain', ts: T0 + 20_000, values: { mm: 1 } });
    expect(e.health().e1).toMatchObject({ readings: 1, outOfOrder: 2 });
    expect(e.health().t1?.readings).toBe(1);
    expect(e.counters()).toMatchObject({ readings: 2, unknownSensor: 1, invalid: 1, outOfOrder: 2 });
  });

  it('never crashes on malformed values (missing field, NaN, Infinity)', () => {
    const e = createEngine(config);
    const bad = [
      { sensor: 'e1', kind: 'displacement', ts: T0, values: {} },
      { sensor: 'e1', kind: 'displacement', ts: T0 + 1, values: { mm: Number.NaN } },
      { sensor: 't1', kind: 'tilt', ts: T0 + 2, values: { x: Number.POSITIVE_INFINITY, y: 0 } },
      { sensor: 'e1', kind: 'displacement', ts: Number.NaN, values: { mm: 1 } },
    ] as Reading[];
    expect(feed(e, bad)).toEqual([]);
    expect(e.health().e1?.outOfRange).toBe(2);
  });
});

describe('acceptance 2: a spike, a step, a stuck sensor or a dropout alone never raises a site above level 1', () => {
  it('holds for any such fault on any movement sensor, at any time and size', () => {
    fc.assert(
      fc.property(
        fc.record({
          kind: fc.constantFrom('spike', 'step', 'stuck', 'dropout'),
          sensor: fc.constantFrom('t1', 'e1'),
          at: fc.double({ min: 2, max: 30, noNaN: true }),
          size: fc.double({ min: -5, max: 5, noNaN: true }).filter((s) => Math.abs(s) > 0.1),
        }),
        fc.constantFrom(MIN, 10 * MIN),
        fc.integer({ min: 1, max: 1000 }),
        (fault, step, seed) => {
          const e = createEngine(config);
          const ch = feed(e, quietSite(36, step, fault as Fault, seed));
          expect(maxLevel(ch)).toBeLessThanOrEqual(1);
          // In this engine none of them raises any level at all.
          expect(maxLevel(ch)).toBe(0);
        },
      ),
      { numRuns: 40, seed: 20250727 },
    );
  });
});
