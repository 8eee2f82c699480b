import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reading, SiteLevel } from '@slopeguard/core';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { openEngineStateStore } from '../src/engine-state-store.ts';
import { SiteLevels } from '../src/site-levels.ts';

const T0 = Date.UTC(2026, 6, 27, 0, 0);
const MIN = 60_000;

/** Ten minutes of rain at `mmPer10min` for `minutes`, with a quiet tilt sensor beside it. */
function storm(minutes: number, mmPer10min: number): Reading[][] {
  const out: Reading[][] = [];
  for (let t = 10; t <= minutes; t += 10) {
    const ts = T0 + t * MIN;
    out.push([
      { sensor: 'rain-1', kind: 'rain', ts, values: { mm: mmPer10min } },
      { sensor: 'tilt-1', kind: 'tilt', ts, values: { x: 0.1 + (t % 20 === 0 ? 1e-5 : 0), y: -0.2 } },
    ]);
  }
  return out;
}

/** One message of two rain gauges at minute `t`: rain-1 first (as a gateway orders them). */
function twoGauges(t: number, mm1: number, mm2: number): Reading[] {
  const ts = T0 + t * MIN;
  return [
    { sensor: 'rain-1', kind: 'rain', ts, values: { mm: mm1 } },
    { sensor: 'rain-2', kind: 'rain', ts, values: { mm: mm2 } },
  ];
}

describe('site levels at the control center', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('raises a site to Caution on 3-h rain over 90 mm, with the rain reason, and publishes it', () => {
    const published: Array<{ site: string; level: SiteLevel }> = [];
    const levels = new SiteLevels({
      configs: new Map(),
      autoConfigure: true,
      states: openEngineStateStore(join(mkdtempSync(join(tmpdir(), 'sg-lv-')), 's.sqlite')),
      publish: (site, level) => published.push({ site, level }),
      logger: pino({ level: 'silent' }),
    });
    for (const msg of storm(180, 16)) levels.onReadings('demo-a', msg); // 96 mm in 3 h
    expect(levels.level('demo-a')).toBe(2);
    const last = published.at(-1);
    expect(last?.site).toBe('demo-a');
    expect(last?.level.level).toBe(2);
    expect(JSON.stringify(last?.level.reasons)).toMatch(/rain/);
  });

  it('never publishes for a site it may not configure', () => {
    const published: unknown[] = [];
    const levels = new SiteLevels({
      configs: new Map(),
      autoConfigure: false,
      states: openEngineStateStore(join(mkdtempSync(join(tmpdir(), 'sg-lv-')), 's.sqlite')),
      publish: (_s, l) => published.push(l),
      logger: pino({ level: 'silent' }),
    });
    for (const msg of storm(180, 16)) levels.onReadings('unknown-site', msg);
    expect(published).toEqual([]);
    expect(levels.level('unknown-site')).toBeUndefined();
  });

  it('resumes the saved level after a restart instead of starting at Normal', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-lv-'));
    dirs.push(dir);
    const path = join(dir, 'state.sqlite');
    const opts = {
      configs: new Map(),
      autoConfigure: true,
      publish: () => undefined,
      logger: pino({ level: 'silent' }),
    };
    const first = new SiteLevels({ ...opts, states: openEngineStateStore(path) });
    for (const msg of storm(180, 16)) first.onReadings('demo-a', msg);
    expect(first.level('demo-a')).toBe(2);
    first.saveAll(Date.now());

    // After the restart the rain has stopped: only the saved hold-down keeps the site at Caution.
    const dry = storm(240, 0).slice(18);
    const second = new SiteLevels({ ...opts, states: openEngineStateStore(path) });
    for (const msg of dry) second.onReadings('demo-a', msg);
    expect(second.level('demo-a')).toBe(2);

    // Control: the same dry hour on a fresh state is Normal, so the state file is what held it.
    const fresh = new SiteLevels({ ...opts, states: openEngineStateStore(join(dir, 'other.sqlite')) });
    for (const msg of dry) fresh.onReadings('demo-a', msg);
    expect(fresh.level('demo-a')).toBe(0);
  });

  it('publishes every level one message moves a site through, in order (0 -> 1 -> 2)', () => {
    const published: SiteLevel[] = [];
    const levels = new SiteLevels({
      configs: new Map(),
      autoConfigure: true,
      states: openEngineStateStore(join(mkdtempSync(join(tmpdir(), 'sg-lv-')), 's.sqlite')),
      publish: (_site, level) => published.push(level),
      logger: pino({ level: 'silent' }),
    });
    levels.onReadings('two-gauges', twoGauges(0, 0, 0));
    expect(published.map((l) => l.level)).toEqual([]);
    // 70 min later, beyond the engine's 60-min bound: gauge 1's reading (64 mm in 3 h: level 1) is
    // held until gauge 2's (96 mm: level 2) confirms the time; both then apply in one engine call.
    levels.onReadings('two-gauges', twoGauges(70, 64, 96));
    expect(published.map((l) => [l.level, l.ts])).toEqual([
      [1, T0 + 70 * MIN],
      [2, T0 + 70 * MIN],
    ]);
    expect(JSON.stringify(published[0]?.reasons)).toMatch(/rain-1/);
  });
});
