import { describe, expect, it } from 'vitest';
import { createEngine, siteConfig } from '../../src/engine/index.ts';
import { feed, HOUR, MIN, rain, T0 } from './helpers.ts';

/** The engine's read-only rain accessor: what the control center shows per gauge. */
describe('engine.rain(): rain totals per gauge', () => {
  const site = () =>
    siteConfig({
      id: 's',
      sensors: [
        { id: 'r1', kind: 'rain' },
        { id: 'r2', kind: 'rain' },
        { id: 'r3', kind: 'rain' },
      ],
    });
  const every10 = (id: string, fromH: number, toH: number, mm: number) =>
    Array.from({ length: Math.round((toH - fromH) * 6) + 1 }, (_, k) =>
      rain(id, T0 + fromH * HOUR + k * 10 * MIN, mm),
    );

  it('gives 1/3/12-h rain, the current event and the soil water index at the site clock', () => {
    const e = createEngine(site());
    // r1: 2 mm every 10 min for 2 h (13 readings, 26 mm); r2 reports dry.
    feed(
      e,
      every10('r1', 0, 2, 2).flatMap((r) => [r, rain('r2', r.ts, 0)]),
    );
    const t = e.rain();
    // The last hour's bins hold the readings at 1:10 ... 2:00 (the 5-minute bins of the rules).
    expect(t.r1).toEqual({
      mm1h: 12,
      mm3h: 26,
      mm12h: 26,
      event: { start: T0, lastWet: T0 + 2 * HOUR, mm: 26 },
      swiMm: Number((e.swi().r1 ?? 0).toPrecision(4)),
      level: 0,
      asOf: T0 + 2 * HOUR,
    });
    expect(t.r1?.swiMm).toBeGreaterThan(0);
    expect(t.r2).toMatchObject({ mm1h: 0, mm3h: 0, mm12h: 0, event: null, swiMm: 0 });
    // A gauge that never reported: nothing, and no time.
    expect(t.r3).toEqual({ mm1h: 0, mm3h: 0, mm12h: 0, event: null, swiMm: 0, level: 0, asOf: null });
  });

  it('lets rain leave the windows while the gauge is silent, without changing the engine', () => {
    const e = createEngine(site());
    feed(
      e,
      every10('r1', 0, 2, 2).flatMap((r) => [r, rain('r2', r.ts, 0)]),
    );
    // Only r2 reports for 3 more hours: the site clock moves on to 5:00.
    feed(e, every10('r2', 2, 5, 0));
    const before = JSON.stringify(e.state());
    expect(e.rain().r1).toMatchObject({ mm1h: 0, mm3h: 0, mm12h: 26, asOf: T0 + 5 * HOUR });
    expect(JSON.stringify(e.state())).toBe(before);
  });
});
