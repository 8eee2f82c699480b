import { describe, expect, it } from 'vitest';
import { createEngine, siteConfig } from '../../src/engine/index.ts';
import { feed, HOUR, MIN, maxLevel, rain, T0 } from './helpers.ts';

const site = (rules: object = {}) =>
  siteConfig({
    id: 's',
    sensors: [
      { id: 'r1', kind: 'rain' },
      { id: 'r2', kind: 'rain' },
    ],
    rules,
  });

/** A gauge reporting every `step` ms with `mmPerStep(t)` (t in hours from T0). */
function* gauge(id: string, hours: number, stepMs: number, mmPerStep: (h: number) => number, from = 0) {
  for (let t = T0 + from * HOUR; t <= T0 + hours * HOUR; t += stepMs)
    yield rain(id, t, mmPerStep((t - T0) / HOUR));
}

describe('rain rules', () => {
  it('level 1 at 60 mm in 3 h (KMA advisory), with the reason', () => {
    const e = createEngine(site({ rain: { intensityDuration: { enabled: false } } }));
    // 21 mm/h from hour 1: 60 mm within 3 h after about 2.9 h.
    const ch = feed(
      e,
      gauge('r1', 6, 10 * MIN, (h) => (h >= 1 ? 3.5 : 0)),
    );
    expect(ch[0]).toMatchObject({ level: 1, previous: 0 });
    expect(ch[0]?.reasons[0]).toMatchObject({ rule: 'rain_3h', sensor: 'r1', threshold: 60, window: '3 h' });
    expect(ch[0]?.reasons[0]?.value).toBeGreaterThanOrEqual(60);
    expect(ch[0]?.ts).toBe(T0 + HOUR + 17 * 10 * MIN); // 18th wet reading: 63 mm
    expect(maxLevel(ch)).toBe(1);
  });

  it('level 2 at 90 mm in 3 h and at 180 mm in 12 h; rain alone stops at 2', () => {
    const fast = createEngine(site());
    expect(
      maxLevel(
        feed(
          fast,
          gauge('r1', 6, 10 * MIN, () => 6),
        ),
      ),
    ).toBe(2); // 36 mm/h
    const slow = createEngine(site());
    const ch = feed(
      slow,
      gauge('r1', 13, 10 * MIN, () => 2.6),
    ); // 15.6 mm/h: 12 h = 187 mm, 3 h = 47 mm
    const two = ch.find((c) => c.level === 2);
    expect(two?.reasons.map((r) => r.rule)).toContain('rain_12h');
    expect(maxLevel(ch)).toBe(2);
  });

  it('the site takes the highest healthy gauge', () => {
    const e = createEngine(site());
    const readings = [];
    for (let t = T0; t <= T0 + 6 * HOUR; t += 10 * MIN) {
      readings.push(rain('r1', t, 0));
      readings.push(rain('r2', t, 6));
    }
    const ch = feed(e, readings);
    expect(maxLevel(ch)).toBe(2);
    expect(ch.at(-1)?.reasons.every((r) => r.sensor === 'r2')).toBe(true);
  });

  it('level 1 when a long event exceeds the Korean intensity-duration threshold I = 9.64 D^-0.27', () => {
    const e = createEngine(site());
    // 5 mm/h steady: 3 h = 15 mm, 12 h = 60 mm: no KMA threshold. I-D at D h: 9.64 D^-0.27 <= 5
    // from D = (9.64/5)^(1/0.27) = 11.4 h (10.8 h here, as the first reading's rain has no interval).
    const ch = feed(
      e,
      gauge('r1', 14, 10 * MIN, () => 5 / 6),
    );
    expect(ch).toHaveLength(1);
    expect(ch[0]?.level).toBe(1);
    expect(ch[0]?.reasons[0]).toMatchObject({ rule: 'rain_intensity_duration', sensor: 'r1' });
    const hours = ((ch[0]?.ts ?? 0) - T0) / HOUR;
    expect(hours).toBeGreaterThan(10.5);
    expect(hours).toBeLessThan(11.5);
  });

  it('an event ends after 6 h with less than 1 mm, and the next one starts from zero', () => {
    const e = createEngine(
      site({ rain: { level1: { mm3h: 1000, mm12h: 1000 }, level2: { mm3h: 1000, mm12h: 1000 } } }),
    );
    // 3 h at 6 mm/h (D = 3 h < 4 h: no I-D), 7 h dry, 3 h again: never one 4-h event.
    const ch = feed(
      e,
      gauge('r1', 13, 10 * MIN, (h) => (h < 3 || (h >= 10 && h < 13) ? 1 : 0)),
    );
    expect(maxLevel(ch)).toBe(0);
  });

  it('computes the JMA soil water index for every gauge; a configured critical value raises level 3', () => {
    const e = createEngine(site({ rain: { swi: { criticalMm: 124 } } }));
    // Below every tank's outlet (15 mm) only the slow deep drainage (0.01 /h of S3) leaves the
    // tanks: SWI equals the rain so far, to 1e-3.
    feed(
      e,
      gauge('r1', 1, 10 * MIN, (h) => (h > 0 ? 10 / 6 : 0)),
    );
    expect(e.swi().r1).toBeCloseTo(10, 3);
    expect(e.swi().r2).toBe(0);
    // 30 mm/h: levels 1 and 2 on 3-h rain, then level 3 when SWI reaches 124 mm.
    const ch = feed(
      e,
      gauge('r1', 8, 10 * MIN, () => 5, 1 + 1 / 6),
    );
    expect(ch.map((c) => c.level)).toEqual([1, 2, 3]);
    expect(ch[2]?.reasons[0]).toMatchObject({ rule: 'rain_swi', level: 3, sensor: 'r1', threshold: 124 });
    expect(e.swi().r1).toBeGreaterThan(124);
  });

  it('decays the soil water index when it stops raining', () => {
    const e = createEngine(site());
    feed(
      e,
      gauge('r1', 3, 10 * MIN, () => 5),
    );
    const wet = e.swi().r1 ?? 0;
    feed(
      e,
      gauge('r1', 27, HOUR, () => 0, 4),
    );
    expect(e.swi().r1).toBeLessThan(wet * 0.7);
    expect(e.swi().r1).toBeGreaterThan(0);
  });
});
