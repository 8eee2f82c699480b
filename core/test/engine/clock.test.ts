import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createEngine, type Engine, type LevelChange, siteConfig } from '../../src/engine/index.ts';
import type { Reading } from '../../src/schemas/reading.ts';
import { EngineSensorHealth } from '../../src/schemas/status.ts';
import { disp, HOUR, MIN, maxLevel, noise, rain, T0, tilt } from './helpers.ts';

/** Health and faults of one sensor, side by side. */
const view = (e: Engine, id: string) => ({ ...e.health()[id], ...e.faults()[id] });

/**
 * The site clock (issue 9, finding 3): one reading stamped far in the future must not move a site's
 * clock beyond its other sensors, while a real outage followed by a backlog from every sensor must
 * still go through in a backtest with no ticks.
 */
const Y2099 = Date.UTC(2099, 0, 1);

const SENSORS = [
  { id: 'r1', kind: 'rain' },
  { id: 't1', kind: 'tilt' },
  { id: 'e1', kind: 'displacement' },
] as const;
const site = (health: object = {}) =>
  siteConfig({
    id: 's',
    sensors: SENSORS.map((x) => ({ ...x })),
    rules: { rain: { intensityDuration: { enabled: false } } },
    health,
  });

/** Every sensor every `stepMs`, rain `mm(h)` per reading, a still slope; in time order. */
function quiet(fromH: number, toH: number, stepMs: number, mm: (h: number) => number, seed = 1): Reading[] {
  const n = noise(seed);
  const out: Reading[] = [];
  for (let t = T0 + fromH * HOUR; t < T0 + toH * HOUR; t += stepMs) {
    const h = (t - T0) / HOUR;
    out.push(rain('r1', t, mm(h)));
    out.push(tilt('t1', t, 0.3 + 0.0005 * n(), -0.2 + 0.0005 * n()));
    out.push(disp('e1', t, 12 + 0.05 * n()));
  }
  return out;
}

function run(e: Engine, readings: Iterable<Reading>): LevelChange[] {
  const out: LevelChange[] = [];
  for (const r of readings) out.push(...e.push(r));
  return out;
}

const storm = (h: number) => (h >= 10 && h < 13 ? 6 : 0); // 36 mm/h for 3 h: level 2

describe('engine clock', () => {
  it('a reading stamped 2099 is held, not applied: honest rain afterwards still raises the site', () => {
    const control = createEngine(site());
    const hit = createEngine(site());
    const before = quiet(0, 2, 10 * MIN, () => 0);
    run(control, before);
    run(hit, before);
    expect(hit.push(tilt('t1', Y2099, 5, 5))).toEqual([]);
    expect(hit.state().clock).toBe(control.state().clock);
    expect(view(hit, 't1')).toMatchObject({ status: 'ok', heldTs: Y2099, future: 0 });

    const after = quiet(2, 20, 10 * MIN, storm);
    const a = run(control, after);
    const b = run(hit, after);
    expect(maxLevel(a)).toBe(2);
    expect(b).toEqual(a);
    // The next honest reading of t1 dropped the held one: counted, and t1 stayed ok throughout.
    expect(view(hit, 't1')).toMatchObject({ status: 'ok', heldTs: null, future: 1 });
    expect(hit.counters().future).toBe(1);
  });

  it('the saved state does not carry the bad time: after a restart 200 mm still raise the site', () => {
    const e = createEngine(site());
    run(
      e,
      quiet(0, 2, 10 * MIN, () => 0),
    );
    e.push(rain('r1', Y2099, 1));
    const resumed = createEngine(site(), JSON.parse(JSON.stringify(e.state())));
    expect(resumed.state().clock).toBeLessThan(T0 + 3 * HOUR);
    const ch = run(
      resumed,
      quiet(2, 12, 10 * MIN, (h) => (h >= 4 && h < 9 ? 200 / 30 : 0)),
    );
    expect(maxLevel(ch)).toBe(2);
  });

  it('a sensor whose every reading is in the future is marked clock_ahead and stops driving levels', () => {
    const e = createEngine(site());
    run(
      e,
      quiet(0, 2, 10 * MIN, () => 0),
    );
    e.push(disp('e1', Y2099, 12));
    expect(view(e, 'e1')?.status).toBe('ok'); // one reading proves nothing yet
    e.push(disp('e1', Y2099 + 10 * MIN, 12));
    expect(view(e, 'e1')).toMatchObject({
      status: 'clock_ahead',
      healthy: false,
      future: 1,
      heldTs: Y2099 + 10 * MIN,
      since: T0 + 2 * HOUR - 10 * MIN,
    });
    // Time passes (the others report): it stays clock_ahead rather than turning stale.
    run(
      e,
      quiet(2, 8, 10 * MIN, () => 0).filter((r) => r.sensor !== 'e1'),
    );
    expect(view(e, 'e1')?.status).toBe('clock_ahead');
    // The gateway publishes health() in its closed status message: it still fits.
    for (const health of Object.values(e.health()))
      expect(Value.Check(EngineSensorHealth, health)).toBe(true);
    expect(e.state().clock).toBeLessThan(T0 + 8 * HOUR);
    // Its clock fixed: an honest reading clears the status.
    e.push(disp('e1', T0 + 8 * HOUR, 12));
    expect(view(e, 'e1')).toMatchObject({ status: 'ok', future: 2, heldTs: null });
  });

  it('a backlog after a three-day outage from every sensor goes through with no tick', () => {
    const e = createEngine(site());
    const reference = createEngine(site({ maxAheadMinutes: 1e9 }));
    const readings = [...quiet(0, 2, 10 * MIN, () => 0), ...quiet(74, 90, 10 * MIN, (h) => storm(h - 72))];
    const a = run(e, readings);
    expect(a).toEqual(run(reference, readings));
    expect(maxLevel(a)).toBe(2);
    expect(e.counters()).toMatchObject({ future: 0, readings: readings.length });
    expect(e.state().clock).toBe(T0 + 90 * HOUR - 10 * MIN);
  });

  it('tick(now) confirms a held reading: it is applied once the wall clock is within the bound', () => {
    const e = createEngine(site());
    run(
      e,
      quiet(0, 2, 10 * MIN, () => 0),
    );
    const late = T0 + 30 * HOUR;
    e.push(rain('r1', late, 3));
    expect(view(e, 'r1')?.heldTs).toBe(late);
    e.tick(late - 2 * HOUR);
    expect(view(e, 'r1')?.heldTs).toBe(late);
    e.tick(late - 30 * MIN);
    expect(view(e, 'r1')).toMatchObject({ heldTs: null, lastTs: late, future: 0 });
    expect(e.swi().r1).toBeGreaterThan(0);
  });

  it('the first reading of a lone sensor sets the clock; a single-sensor site follows its sensor', () => {
    const one = createEngine(siteConfig({ id: 's', sensors: [{ id: 'e1', kind: 'displacement' }] }));
    one.push(disp('e1', T0, 1));
    one.push(disp('e1', T0 + 40 * 24 * HOUR, 1));
    expect(view(one, 'e1')).toMatchObject({ lastTs: T0 + 40 * 24 * HOUR, heldTs: null, future: 0 });
  });

  it('property: one far-future reading anywhere changes no level and never moves the clock', () => {
    const stream = quiet(0, 24, 10 * MIN, storm, 7);
    const reference = run(createEngine(site()), stream);
    const last = T0 + 24 * HOUR;
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: stream.length - 1 }),
        fc.constantFrom('r1', 't1', 'e1'),
        fc.integer({ min: last + 61 * MIN, max: Date.UTC(2262, 0, 1) }),
        (at, sensor, ts) => {
          const kind = SENSORS.find((x) => x.id === sensor)?.kind ?? 'rain';
          const bad: Reading = { sensor, kind, ts, values: kind === 'tilt' ? { x: 9, y: 9 } : { mm: 99 } };
          const e = createEngine(site());
          const out = run(e, [...stream.slice(0, at), bad, ...stream.slice(at)]);
          expect(out).toEqual(reference);
          expect(e.state().clock).toBe(stream[stream.length - 1]?.ts);
          // Dropped (and counted) unless it came after its sensor's last reading.
          const later = stream.slice(at).some((r) => r.sensor === sensor);
          expect(view(e, sensor)).toMatchObject(
            later ? { future: 1, heldTs: null } : { future: 0, heldTs: ts },
          );
        },
      ),
      { numRuns: 40, seed: 99 },
    );
  });

  it('property: an outage of any length followed by a time-ordered backlog gives the same levels as no check', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 40 * 24 }), fc.integer({ min: 1, max: 8 }), (gapH, seed) => {
        const readings = [
          ...quiet(0, 3, 10 * MIN, () => 0, seed),
          ...quiet(3 + gapH, 3 + gapH + 16, 10 * MIN, (h) => storm(h - gapH), seed + 1),
        ];
        const e = createEngine(site());
        expect(run(e, readings)).toEqual(run(createEngine(site({ maxAheadMinutes: 1e9 })), readings));
        expect(e.counters().future).toBe(0);
      }),
      { numRuns: 20, seed: 7 },
    );
  });
});
