import { describe, expect, it } from 'vitest';
import {
  createEngine,
  type Engine,
  type LevelChange,
  parseSiteConfig,
  siteConfig,
} from '../../src/engine/index.ts';
import type { Reading } from '../../src/schemas/reading.ts';
import { disp, HOUR, MIN, rain, T0 } from './helpers.ts';

/** Health and faults of one sensor, side by side. */
const view = (e: Engine, id: string) => ({ ...e.health()[id], ...e.faults()[id] });

/**
 * Instruments read every few days (issue 14, acceptance 3): a crack gauge read by hand every 5-15
 * days beside an hourly rain gauge. One real movement of 7.8 mm comes right after a 143 mm storm;
 * one true sensor fault (the gauge knocked: +12 mm that stays, with no rain and no other movement)
 * comes later.
 */
const DAY = 24 * HOUR;
const GAPS = [11, 5, 15, 8, 13, 7, 9, 12, 6, 14]; // days between readings, in turn

const config = siteConfig({
  id: 's',
  sensors: [
    { id: 'r1', kind: 'rain', intervalMs: HOUR },
    { id: 'c1', kind: 'displacement', intervalMs: 15 * DAY, stuckReadings: 0 },
  ],
  rules: { displacement: { cumulative: { mm: 5 } } },
});

const STORM = 100; // day: 143 mm over 12 h
const FAULT = 200; // day: the gauge is knocked

function fixture(): { readings: Reading[]; movedAt: number; faultAt: number } {
  const out: Reading[] = [];
  for (let h = 0; h < 300 * 24; h++) {
    const inStorm = h >= STORM * 24 && h < STORM * 24 + 12;
    out.push(rain('r1', T0 + h * HOUR, inStorm ? 143 / 12 : 0));
  }
  let movedAt = 0;
  let faultAt = 0;
  let k = 0;
  // Read at 10:00 on the day, quantised to 0.01 mm, creeping 0.004 mm/day with +-0.02 mm noise.
  for (let d = 3; d < 300; d += GAPS[k++ % GAPS.length] as number) {
    const t = T0 + d * DAY + 10 * HOUR;
    let mm = 20 + 0.004 * d + 0.02 * Math.sin(d * 1.7);
    if (d > STORM) {
      mm += 7.8;
      if (movedAt === 0) movedAt = t;
    }
    if (d > FAULT) {
      mm += 12;
      if (faultAt === 0) faultAt = t;
    }
    out.push(disp('c1', t, Math.round(mm * 100) / 100));
  }
  out.sort((a, b) => a.ts - b.ts);
  return { readings: out, movedAt, faultAt };
}

function run(e: Engine, readings: Reading[], each?: (r: Reading) => void): LevelChange[] {
  const out: LevelChange[] = [];
  for (const r of readings) {
    out.push(...e.push(r));
    each?.(r);
  }
  return out;
}

describe('sparse instruments', () => {
  it('intervalMs goes up to 31 days', () => {
    const at = (intervalMs: number) =>
      parseSiteConfig({ id: 's', sensors: [{ id: 'c1', kind: 'displacement', intervalMs }] }).ok;
    expect(at(31 * DAY)).toBe(true);
    expect(at(31 * DAY + 1)).toBe(false);
  });

  it('acceptance 3: keeps the movement after the storm, flags the fault, never stale on schedule', () => {
    const { readings, movedAt, faultAt } = fixture();
    const e = createEngine(config);
    const statuses = new Set<string>();
    const changes = run(e, readings, (r) => {
      if (r.sensor === 'c1') statuses.add(view(e, 'c1')?.status ?? '');
    });
    // Never stale, spiking or stepped at a reading on schedule, except at the fault itself.
    expect(view(e, 'c1')).toMatchObject({ steps: 1, spikes: 0, unconfirmed: 1, outOfRange: 0 });
    expect([...statuses].sort()).toEqual(['ok', 'stepped']);
    expect(changes.flatMap((c) => c.reasons).some((r) => r.rule === 'no_data')).toBe(false);

    // The movement is kept: the cumulative rule raises level 2 at the first reading after the storm.
    const two = changes.find((c) => c.level === 2);
    expect(two?.ts).toBe(movedAt);
    const cumulative = two?.reasons.find((r) => r.rule === 'displacement_cumulative');
    expect(cumulative).toMatchObject({ sensor: 'c1', threshold: 5, unit: 'mm' });
    expect(cumulative?.value).toBeGreaterThan(7.8);
    expect(cumulative?.value).toBeLessThan(8.5);

    // The fault is removed as a step: the cumulative displacement stays about 7.8 mm, not 19.8.
    expect(faultAt).toBeGreaterThan(movedAt);
    const sparseAfterFault = createEngine(config);
    run(
      sparseAfterFault,
      readings.filter((r) => r.ts <= faultAt),
    );
    expect(view(sparseAfterFault, 'c1')).toMatchObject({ unconfirmed: 1, steps: 0 }); // held, waiting
    expect(e.state().sensors.find((r) => r.id === 'c1')?.movement?.lastValue).toBeLessThan(29);
    // The site never went above 2 and never left it after the real movement (cumulative holds).
    expect(Math.max(...changes.map((c) => c.level))).toBe(2);
    expect(e.level).toBe(2);
  });

  it('without the rain, the same jump is a sensor step (the rule that saved the movement is the rain)', () => {
    const { readings } = fixture();
    const dry = readings.map((r) => (r.sensor === 'r1' ? { ...r, values: { mm: 0 } } : r));
    const e = createEngine(config);
    const changes = run(e, dry);
    expect(view(e, 'c1')?.steps).toBe(2);
    expect(changes).toEqual([]);
  });

  it('a sparse rate over at least a day: 3 mm/day between readings 5 days apart is level 1', () => {
    const e = createEngine(
      siteConfig({ id: 's', sensors: [{ id: 'c1', kind: 'displacement', intervalMs: 10 * DAY }] }),
    );
    const ch = run(e, [
      disp('c1', T0, 10),
      disp('c1', T0 + 10 * DAY, 10.1),
      disp('c1', T0 + 20 * DAY, 10.2),
      disp('c1', T0 + 30 * DAY, 10.3),
      disp('c1', T0 + 35 * DAY, 10.3 + 15 * 0.1), // regime: 0.3 mm/day, below level 1
      disp('c1', T0 + 40 * DAY, 10.3 + 1.5 + 15),
    ]);
    const one = ch.find((c) => c.level >= 1);
    expect(one?.ts).toBe(T0 + 40 * DAY);
    expect(one?.reasons[0]).toMatchObject({
      rule: 'displacement_rate',
      sensor: 'c1',
      value: 3,
      threshold: 1,
      unit: 'mm/day',
      window: '5 d between readings',
    });
  });

  it('on minute data, a jump during rain at level 1 is movement, not a step', () => {
    const c = siteConfig({
      id: 's',
      sensors: [
        { id: 'r1', kind: 'rain' },
        { id: 'e1', kind: 'displacement' },
      ],
    });
    const e = createEngine(c);
    const readings: Reading[] = [];
    for (let t = T0; t < T0 + 12 * HOUR; t += MIN) {
      const h = (t - T0) / HOUR;
      readings.push(rain('r1', t, h < 6 ? 0.5 : 0)); // 30 mm/h: level 2 by 3 h
      readings.push(disp('e1', t, 12 + (h >= 5 ? 7.8 : 0) + 0.01 * Math.sin(t / MIN)));
    }
    run(e, readings);
    expect(view(e, 'e1')).toMatchObject({ steps: 0, spikes: 0 });
    const dry = createEngine(c);
    run(
      dry,
      readings.map((r) => (r.sensor === 'r1' ? { ...r, values: { mm: 0 } } : r)),
    );
    expect(view(dry, 'e1')?.steps).toBe(1);
  });
});
