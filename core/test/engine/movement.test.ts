import { describe, expect, it } from 'vitest';
import { createEngine, siteConfig } from '../../src/engine/index.ts';
import type { Reading } from '../../src/schemas/reading.ts';
import { disp, feed, HOUR, MIN, maxLevel, noise, rain, T0, tilt } from './helpers.ts';

const site = (sensors: object[], rules: object = {}) => siteConfig({ id: 's', sensors, rules });

/** Interleaves sensors sampled every `step` over `hours`; value(id, hours since T0). */
function stream(
  ids: { id: string; kind: 'tilt' | 'displacement' | 'rain' }[],
  hours: number,
  step: number,
  value: (id: string, h: number) => number | [number, number],
): Reading[] {
  const out: Reading[] = [];
  for (let t = T0; t <= T0 + hours * HOUR; t += step) {
    for (const { id, kind } of ids) {
      const v = value(id, (t - T0) / HOUR);
      if (kind === 'tilt') {
        const [x, y] = Array.isArray(v) ? v : [v, 0];
        out.push(tilt(id, t, x, y));
      } else if (kind === 'rain') out.push(rain(id, t, v as number));
      else out.push(disp(id, t, v as number));
    }
  }
  return out;
}

describe('tilt rules', () => {
  it('level 1 at 0.01 deg/h and level 2 at 0.1 deg/h, each sustained 30 min, on the two-axis magnitude', () => {
    const n = noise(3);
    // Opposite signs on the two axes (long and short rods): the magnitude grows all the same.
    const slow = createEngine(site([{ id: 't1', kind: 'tilt' }]));
    const ch1 = feed(
      slow,
      stream([{ id: 't1', kind: 'tilt' }], 4, MIN, (_id, h) => {
        const m = h > 1 ? (h - 1) * 0.02 : 0; // 0.02 deg/h from hour 1
        return [0.5 + m * 0.6 + 0.0002 * n(), -0.3 - m * 0.8 + 0.0002 * n()];
      }),
    );
    expect(ch1.map((c) => c.level)).toEqual([1]);
    const t1 = ((ch1[0]?.ts ?? 0) - T0) / HOUR - 1;
    expect(t1).toBeGreaterThanOrEqual(0.5); // a full 30 min of movement
    expect(t1).toBeLessThanOrEqual(0.75);
    expect(ch1[0]?.reasons[0]).toMatchObject({
      rule: 'tilt_rate',
      sensor: 't1',
      threshold: 0.01,
      window: '30 min',
    });
    expect(ch1[0]?.reasons[0]?.value).toBeCloseTo(0.02, 2);

    const fast = createEngine(site([{ id: 't1', kind: 'tilt' }]));
    const ch2 = feed(
      fast,
      stream([{ id: 't1', kind: 'tilt' }], 3, MIN, (_id, h) => [h > 1 ? -(h - 1) * 0.15 : 0, 0.0002 * n()]),
    );
    expect(maxLevel(ch2)).toBe(2);
  });

  it('stays at 0 on a noisy sensor at rest', () => {
    const n = noise(4);
    const e = createEngine(site([{ id: 't1', kind: 'tilt' }]));
    const ch = feed(
      e,
      stream([{ id: 't1', kind: 'tilt' }], 48, MIN, () => [1 + 0.0005 * n(), 2 + 0.0005 * n()]),
    );
    expect(ch).toEqual([]);
  });

  it('widens the window when sampling is hourly, and says so', () => {
    const e = createEngine(site([{ id: 't1', kind: 'tilt' }]));
    const ch = feed(
      e,
      stream([{ id: 't1', kind: 'tilt' }], 12, HOUR, (_id, h) => [0.05 * h, 0]),
    );
    expect(ch[0]?.level).toBe(1);
    expect(ch[0]?.reasons[0]?.window).toMatch(/^30 min \(widened to 3 h\)$/);
  });
});

describe('displacement rules', () => {
  const ext = [
    { id: 'e1', kind: 'displacement' as const },
    { id: 'e2', kind: 'displacement' as const },
  ];

  it('level 1 at 1 mm/day over 24 h', () => {
    const e = createEngine(site(ext));
    const ch = feed(
      e,
      stream(ext, 40, 10 * MIN, (id, h) => (id === 'e1' ? 1.5 * (h / 24) : 3)),
    );
    expect(ch.map((c) => c.level)).toEqual([1]);
    expect(ch[0]?.reasons[0]).toMatchObject({ rule: 'displacement_rate', unit: 'mm/day', threshold: 1 });
  });

  it('level 2 at 2 mm/h over 1 h; a lone sensor at 3 mm/h for hours is held at 2 (corroboration)', () => {
    const e = createEngine(site(ext));
    const ch = feed(
      e,
      stream(ext, 6, 5 * MIN, (id, h) => (id === 'e1' && h > 1 ? (h - 1) * 3 : 0)),
    );
    expect(ch.map((c) => c.level)).toEqual([2]);
    expect(ch[0]?.reasons[0]).toMatchObject({
      rule: 'displacement_rate',
      sensor: 'e1',
      unit: 'mm/h',
      threshold: 2,
    });
    expect(((ch[0]?.ts ?? 0) - T0) / HOUR).toBeLessThan(2.5);
    expect(e.health().e1?.level).toBe(3); // the sensor itself is at 3
  });

  it('level 3 at 2 mm/h sustained 2 h when a second sensor is at 2', () => {
    const e = createEngine(site(ext));
    const ch = feed(
      e,
      stream(ext, 6, 5 * MIN, (_id, h) => (h > 1 ? (h - 1) * 3 : 0)),
    );
    expect(ch.map((c) => c.level)).toEqual([2, 3]);
    const t3 = ((ch[1]?.ts ?? 0) - T0) / HOUR - 1;
    expect(t3).toBeGreaterThanOrEqual(2);
    expect(t3).toBeLessThanOrEqual(2 + 2 / 5 + 5 / 60); // D plus one bin (D/5) plus one reading
    // e1 reaches 3 first, corroborated by e2 at 2 at that instant; both are named.
    expect(ch[1]?.reasons.map((r) => [r.sensor, r.level])).toEqual([
      ['e1', 3],
      ['e2', 2],
    ]);
  });

  it('rain at level 1 corroborates a single moving sensor', () => {
    const sensors = [...ext, { id: 'r1', kind: 'rain' as const }];
    const e = createEngine(site(sensors));
    const ch = feed(
      e,
      stream(sensors, 6, 5 * MIN, (id, h) => (id === 'r1' ? 2 : id === 'e1' && h > 1 ? (h - 1) * 3 : 0)),
    );
    expect(maxLevel(ch)).toBe(3);
  });

  it('level 4 at 10 mm/h (corroborated)', () => {
    const e = createEngine(site(ext));
    const ch = feed(
      e,
      stream(ext, 3, 5 * MIN, (_id, h) => (h > 1 ? (h - 1) * 12 : 0)),
    );
    expect(maxLevel(ch)).toBe(4);
    const four = ch.find((c) => c.level === 4);
    expect(four?.reasons.some((r) => r.rule === 'displacement_rate' && r.threshold === 10)).toBe(true);
  });

  it('forecasts the time of failure by inverse velocity and raises 4 when it is under 3 h with a good fit', () => {
    const n = noise(5);
    const tf = T0 + 30 * HOUR;
    // 1/v linear in time: v = 30 / (tf - t) mm/h, displacement = -30 ln(tf - t) + c.
    const x = (h: number) => -30 * Math.log(30 - h) + 30 * Math.log(30);
    const e = createEngine(site(ext));
    const ch = feed(
      e,
      stream(ext, 29.5, 10 * MIN, (id, h) => (id === 'e1' ? 1 : 0.9) * x(h) + 0.05 * n()),
    );
    const four = ch.find((c) => c.level === 4);
    const fc = four?.reasons.find((r) => r.rule === 'inverse_velocity');
    expect(fc).toBeDefined();
    expect(fc?.threshold).toBe(3);
    expect(fc?.r2).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs((fc?.tf ?? 0) - tf)).toBeLessThan(HOUR);
    // 10 mm/h is reached 3 h before failure: the forecast must not come later than that.
    expect(tf - (four?.ts ?? tf)).toBeGreaterThanOrEqual(3 * HOUR - 15 * MIN);
    const f = e.forecasts();
    expect(Math.abs((f.e1?.tf ?? 0) - tf)).toBeLessThan(HOUR);
  });
});

describe('hold-down and release', () => {
  const ext = [
    { id: 'e1', kind: 'displacement' as const },
    { id: 'e2', kind: 'displacement' as const },
  ];

  it('holds each level 6 h after its last trigger, then steps down one level at a time', () => {
    const e = createEngine(site(ext));
    // 3 mm/h for 3 h (level 3), then still.
    const ch = feed(
      e,
      stream(ext, 3 + 1, 5 * MIN, (_id, h) => 3 * Math.min(Math.max(h - 1, 0), 3)),
    );
    expect(maxLevel(ch)).toBe(3);
    const lastTrigger = T0 + 4 * HOUR; // the rates fall below 2 mm/h within the last hour
    const down = e.tick(lastTrigger + 30 * HOUR);
    expect(down.map((c) => [c.previous, c.level])).toEqual([
      [3, 2],
      [2, 1],
      [1, 0],
    ]);
    expect(down[0]?.reasons[0]).toMatchObject({ rule: 'hold_down', window: '6 h' });
    const gaps = down.map((c, i) => c.ts - (i === 0 ? 0 : (down[i - 1]?.ts ?? 0)));
    expect(gaps.slice(1)).toEqual([6 * HOUR, 6 * HOUR]);
    // The 1-h rate falls below 2 mm/h about half an hour after the movement stops.
    expect(down[0]?.ts ?? 0).toBeGreaterThanOrEqual(lastTrigger + 6 * HOUR);
    expect(down[0]?.ts ?? 0).toBeLessThanOrEqual(lastTrigger + 7 * HOUR);
  });

  it('leaves level 4 only on an operator release, and not while 4 is still triggered', () => {
    const e = createEngine(site(ext));
    const readings = stream(ext, 2, 5 * MIN, (_id, h) => (h > 1 ? (h - 1) * 15 : 0));
    feed(e, readings);
    expect(e.level).toBe(4);
    expect(e.release(T0 + 2 * HOUR, 'kim')).toEqual([]); // still moving at 15 mm/h
    // The slope stops: days later the level is still 4.
    feed(
      e,
      stream(ext, 60, 10 * MIN, () => 15).filter((r) => r.ts > T0 + 2 * HOUR),
    );
    expect(e.tick(T0 + 60 * HOUR)).toEqual([]);
    expect(e.level).toBe(4);
    const rel = e.release(T0 + 60 * HOUR, 'kim');
    expect(rel).toHaveLength(1);
    expect(rel[0]).toMatchObject({ level: 3, previous: 4 });
    expect(rel[0]?.reasons[0]).toMatchObject({ rule: 'operator_release', operator: 'kim' });
    const down = e.tick(T0 + 80 * HOUR);
    expect(down.map((c) => c.level)).toEqual([2, 1, 0]);
    expect(down[0]?.ts).toBe(T0 + 66 * HOUR);
  });
});

describe('sampling from 1 s to 1 h', () => {
  const ext = [
    { id: 'e1', kind: 'displacement' as const },
    { id: 'e2', kind: 'displacement' as const },
  ];

  it('gives the same levels at 1-s, 1-min and 1-h sampling for the same movement', () => {
    const n = noise(9);
    // 3 mm/h from hour 1 (1 s: noise 0.05 mm; the bins average it away).
    const at = (step: number, hours: number) => {
      const e = createEngine(site(ext));
      const ch = feed(
        e,
        stream(ext, hours, step, (_id, h) => (h > 1 ? (h - 1) * 3 : 0) + 0.05 * n()),
      );
      return ch.map((c) => c.level);
    };
    expect(at(1000, 4)).toEqual([2, 3]);
    expect(at(MIN, 4)).toEqual([2, 3]);
    expect(at(HOUR, 12)).toEqual([2, 3]);
  });

  it('accepts sensors interleaved slightly out of order (jitter of a second at 1-s sampling)', () => {
    const n = noise(10);
    const readings = stream(ext, 4, 1000, (_id, h) => (h > 1 ? (h - 1) * 3 : 0) + 0.05 * n());
    // e2's reading of t is stamped t - 0.4 s but arrives after e1's reading of t: older than the
    // site clock, newer than e2's last reading.
    const jittered = readings.map((r) => (r.sensor === 'e2' && r.ts > T0 ? { ...r, ts: r.ts - 400 } : r));
    const e = createEngine(site(ext));
    expect(maxLevel(feed(e, jittered))).toBe(3);
    expect(e.counters().outOfOrder).toBe(0);
  });
});
