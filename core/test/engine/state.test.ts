import { readFileSync } from 'node:fs';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { describe, expect, it } from 'vitest';
import {
  createEngine,
  type Engine,
  EngineStateSchema,
  type LevelChange,
  siteConfig,
} from '../../src/engine/index.ts';
import type { Reading } from '../../src/schemas/reading.ts';
import { disp, HOUR, MIN, rain, T0, tilt } from './helpers.ts';

/** Health and faults of one sensor, side by side. */
const view = (e: Engine, id: string) => ({ ...e.health()[id], ...e.faults()[id] });

/**
 * The saved engine state (issue 15): a versioned schema with readable names, a migration from the
 * version 1 states saved before it (fixtures written by the engine as it was at commit 7f65bc1),
 * and refusal with a coded error of anything that fails the schema.
 */
const config = siteConfig({
  id: 's',
  sensors: [
    { id: 'r1', kind: 'rain' },
    { id: 't1', kind: 'tilt' },
    { id: 'e1', kind: 'displacement' },
  ],
  rules: { rain: { swi: { criticalMm: 150 } } },
});
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const check = TypeCompiler.Compile(EngineStateSchema);

/** As in the fixtures' generator: every sensor every 10 minutes, rain `mm(h)` per reading. */
function site(fromH: number, toH: number, mm: (h: number) => number = () => 0): Reading[] {
  const out: Reading[] = [];
  for (let t = T0 + fromH * HOUR; t < T0 + toH * HOUR; t += 10 * MIN) {
    const k = (t - T0) / (10 * MIN);
    out.push(rain('r1', t, mm((t - T0) / HOUR)));
    out.push(tilt('t1', t, 0.3 + 0.0005 * Math.sin(k), -0.2 + 0.0005 * Math.cos(k)));
    out.push(disp('e1', t, 12 + 0.05 * Math.sin(k * 1.3)));
  }
  return out;
}
const run = (e: Engine, rs: Reading[]): LevelChange[] => rs.flatMap((r) => e.push(r));
const storm = (h: number) => (h >= 8 && h < 11 ? 6 : 0); // 36 mm/h for 3 h: level 2

describe('saved engine state', () => {
  it('state() matches its schema, with readable names, and round-trips through JSON exactly', () => {
    const e = createEngine(config);
    run(e, site(0, 12, storm));
    const state = e.state();
    expect(check.Check(state)).toBe(true);
    expect(state).toMatchObject({ v: 2, site: 's', startedAt: T0, triggerLevel: expect.any(Number) });
    expect(state.sensors[2]).toMatchObject({ id: 'e1', lastReadingAt: expect.any(Number) });
    expect(state.sensors[2]?.movement?.tracks[0]).toHaveProperty('valueSums');
    const back = createEngine(config, JSON.parse(JSON.stringify(state)));
    expect(back.state()).toEqual(state);
    // And both continue alike.
    const more = site(12, 30, (h) => storm(h - 12));
    expect(run(back, more)).toEqual(run(e, more));
  });

  it('migrates a version 1 state: the run continues as if never stopped', () => {
    const resumed = createEngine(config, fixture('state-v1.json'));
    expect(check.Check(resumed.state())).toBe(true);
    const whole = createEngine(config);
    run(whole, site(0, 6));
    // Fields added since version 1 (movement seen, baselines of the cumulative rule) start afresh.
    const { sensors: sa, ...siteA } = resumed.state();
    const { sensors: sb, ...siteB } = whole.state();
    expect({ ...siteA, wetAt: null }).toEqual({ ...siteB, wetAt: null });
    expect(sa.map((r) => [r.lastReadingAt, r.status, r.level, r.cleaning])).toEqual(
      sb.map((r) => [r.lastReadingAt, r.status, r.level, r.cleaning]),
    );
    const more = site(6, 24, storm);
    const a = run(resumed, more);
    expect(a).toEqual(run(whole, more));
    expect(Math.max(...a.map((c) => c.level))).toBe(2);
  });

  it('migrating a version 1 state whose clock a reading from 2099 moved brings the clock back', () => {
    const raw = fixture('state-v1-clock-2099.json') as { clock: number };
    expect(raw.clock).toBe(Date.UTC(2099, 0, 1));
    const e = createEngine(config, raw);
    expect(e.state().clock).toBe(T0 + 3 * HOUR - 10 * MIN);
    const ch = run(e, site(3, 20, storm));
    expect(Math.max(...ch.map((c) => c.level))).toBe(2);
    expect(view(e, 'r1')?.status).toBe('ok');
    // The sensor that took the 2099 reading counts it, and reports again.
    expect(view(e, 't1')).toMatchObject({ future: 1, status: 'ok', lastTs: T0 + 20 * HOUR - 10 * MIN });
  });

  it('refuses, with SG_ENGINE_STATE and the path, a state that fails the schema', () => {
    const e = createEngine(config);
    run(e, site(0, 2));
    const good = () => JSON.parse(JSON.stringify(e.state()));
    const refused = (s: unknown, detail: RegExp) =>
      expect(() => createEngine(config, s)).toThrow(
        expect.objectContaining({ code: 'SG_ENGINE_STATE', message: expect.stringMatching(detail) }),
      );
    refused('a string', /not an object/);
    refused({ ...good(), v: 3 }, /unsupported engine state version 3/);
    refused({ ...good(), level: 7 }, /\/level: /);
    refused({ ...good(), extra: 1 }, /extra|additional/i);
    const wrongType = good();
    wrongType.sensors[0].readings = 'many';
    refused(wrongType, /\/sensors\/0\/readings/);
    const missing = good();
    delete missing.sensors[2].movement.tracks[0].counts;
    refused(missing, /\/sensors\/2\/movement/);
    const short = good();
    short.sensors[2].movement.tracks[0].counts.pop();
    refused(short, /tracks\/0: arrays are not as long as the capacity/);
    const v1 = fixture('state-v1.json') as { sensors: unknown };
    refused({ ...v1, sensors: 'none' }, /version 1 engine state cannot be migrated/);
    refused({ ...v1, sensors: [{ id: 'r1' }] }, /version 1 engine state cannot be migrated|schema/);
    refused({ ...good(), site: 'other' }, /state is for site other, not s/);
  });
});
