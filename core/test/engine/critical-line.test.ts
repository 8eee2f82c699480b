import { describe, expect, it } from 'vitest';
import { createEngine, parseSiteConfig, siteConfig } from '../../src/engine/index.ts';
import { lineRainAt, rainParams } from '../../src/engine/rain.ts';
import { HOUR, MIN, rain, T0 } from './helpers.ts';

/**
 * The JMA-style critical line (issue 14): level 3 when a gauge's state (soil water index, 60-minute
 * rain) is on or beyond a site's polyline, level 2 within the margins.
 */
const LINE = {
  points: [
    { swiMm: 100, rain60Mm: 40 },
    { swiMm: 200, rain60Mm: 10 },
  ],
  marginSwiMm: 10,
  marginRain60Mm: 5,
};
const config = siteConfig({
  id: 's',
  sensors: [{ id: 'r1', kind: 'rain', intervalMs: 5 * MIN }],
  rules: { rain: { criticalLine: LINE } },
});

/** The line by hand: 40 mm at SWI 100 falling 0.3 mm per mm of SWI to 10 mm at 200, then flat. */
const byHand = (swi: number) =>
  swi < 100 ? Number.POSITIVE_INFINITY : swi <= 200 ? 40 - 0.3 * (swi - 100) : 10;

describe('critical line', () => {
  it('interpolates the polyline', () => {
    const line = rainParams(config).line;
    if (!line) throw new Error('no line');
    for (const swi of [50, 99.9, 100, 150, 175, 200, 250])
      expect(lineRainAt(line, swi)).toBeCloseTo(byHand(swi), 9);
  });

  it('level 3 exactly when the gauge is beyond the line, 2 within the margins, with the reason', () => {
    const e = createEngine(config);
    // A wet day raising the soil water index, then a one-hour burst of 48 mm, then drying.
    const mm = (h: number) => (h < 10 ? 1 : h < 14 ? 2.5 : h < 15 ? 4 : h < 16 ? 0.5 : 0);
    const window: number[] = [];
    let three = 0;
    let two = 0;
    for (let t = T0; t < T0 + 30 * HOUR; t += 5 * MIN) {
      const v = mm((t - T0) / HOUR);
      const changes = e.push(rain('r1', t, v));
      window.push(v);
      if (window.length > 12) window.shift();
      const rain60 = window.reduce((a, b) => a + b, 0);
      const swi = e.swi().r1 ?? 0;
      const own = e.health().r1?.level ?? 0;
      const beyond = rain60 >= byHand(swi) - 1e-9;
      const near = rain60 + 5 >= byHand(swi + 10) - 1e-9;
      expect([t, own >= 3]).toEqual([t, beyond]);
      if (!beyond && near) expect(own).toBe(2);
      if (own === 3) three++;
      if (own === 2 && near) two++;
      const c = changes.find((x) => x.level === 3);
      if (c)
        expect(c.reasons[0]).toMatchObject({
          rule: 'rain_critical_line',
          sensor: 'r1',
          unit: 'mm',
          value: expect.any(Number),
        });
    }
    expect(three).toBeGreaterThan(0);
    expect(two).toBeGreaterThan(0);
  });

  it('is validated: points by soil water index ascending, caution not above the level', () => {
    const bad = parseSiteConfig({
      id: 's',
      sensors: [{ id: 'r1', kind: 'rain' }],
      rules: {
        rain: {
          criticalLine: {
            points: [
              { swiMm: 100, rain60Mm: 40 },
              { swiMm: 90, rain60Mm: 10 },
            ],
            level: 2,
            cautionLevel: 3,
          },
        },
      },
    });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors).toContain(
        "/rules/rain/criticalLine/points/1/swiMm: must be above the previous point's",
      );
      expect(bad.errors).toContain('/rules/rain/criticalLine/cautionLevel: must not be above level');
    }
  });
});
