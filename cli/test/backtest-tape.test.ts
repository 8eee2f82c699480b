import type { Reading } from '@slopeguard/core';
import { MovementTape, TapeDiverged } from '@slopeguard/core/engine/index.ts';
import { HOUR } from '@slopeguard/simulators/scenarios/models.ts';
import { describe, expect, it } from 'vitest';
import { DAY, SLOPE_START as START, slopeSite } from '../../bench/slope-site.ts';
import { Packer, replayPacked, runPacked, SweepRunner } from '../backtest/pack.ts';
import { withSetting } from '../backtest/sweep.ts';

/**
 * The sweep's fast path (a movement tape recorded once and replayed for the next settings) must
 * give exactly what full runs give. The fixture (the engine benchmark's site, bench/slope-site.ts,
 * made smaller): 30 days of 3-minute data from a site with two rain gauges (storms every 9 days),
 * two tilt sensors and two extensometers creeping from day 12, with noise (outliers that make the
 * filter ask about rain and movement elsewhere), a jump of an extensometer during the storm of day
 * 11 (movement with rain, a step without) and spikes; swept over the soil water index critical
 * value, the hold-down and the corroboration window.
 */
const STEP = 180_000;

function fixture() {
  const site = slopeSite({
    id: 'tape',
    days: 30,
    seed: 5,
    tilts: 2,
    extensometers: 2,
    firstStormDay: 2,
    stormHours: (d) => 8 + (d % 13),
    stormMm: (h) => 4 + ((h * 7) % 23),
    rain2Share: 0.7,
    creepFromDay: 12,
    creepMmPerDay: 0.9,
    tiltPerMm: 0.003,
    extDivisor: 2,
  });
  const { config } = site;
  const packer = new Packer(config);
  let k = 0;
  for (const reading of site.readings(START, START + 30 * DAY, STEP)) {
    const r: Reading = { ...reading, values: { ...reading.values } };
    const ts = r.ts;
    // A knocked extensometer (a step of 15 mm) and a few spikes on a tilt sensor.
    if (r.sensor === 'ext-1' && ts >= START + 11 * DAY + 5 * HOUR) r.values.mm = (r.values.mm ?? 0) + 15;
    if (r.sensor === 'tilt-2' && k++ % 2001 === 1000) r.values.x = (r.values.x ?? 0) + 0.5;
    packer.add(r);
  }
  return { config, packed: packer.pack() };
}

const { config, packed } = fixture();
const known = [9, 21, 27].map((d, k) => ({
  ts: START + d * DAY,
  kind: 'landslide' as const,
  end: null,
  note: '',
  line: k + 2,
}));
const options = { alarmLevel: 2, windowMs: 24 * HOUR, falseWindowMs: 24 * HOUR };

describe('movement tape (sweep fast path)', () => {
  it('a replay gives the level changes of a full run, or throws TapeDiverged; never others', () => {
    const tape = new MovementTape(config.sensors.length);
    const recorded = replayPacked(withSetting(config, 'rules.rain.swi.criticalMm', 60), packed, tape);
    expect(replayPacked(withSetting(config, 'rules.rain.swi.criticalMm', 60), packed)).toEqual(recorded);
    let replayed = 0;
    let diverged = 0;
    const set = (settings: [string, number][]) =>
      settings.reduce((c, [path, value]) => withSetting(c, path, value), config);
    for (const c of [
      set([['rules.rain.swi.criticalMm', 60]]),
      set([['rules.rain.swi.criticalMm', 70]]),
      set([['rules.rain.swi.criticalMm', 150]]),
      set([['rules.holdDown.hours', 1]]),
      set([['rules.corroboration.rainWindowHours', 48]]),
      // Rain never reaches level 1: the filter hears "no rain" where it heard "rain".
      set([
        ['rules.rain.level2.mm3h', 900],
        ['rules.rain.level2.mm12h', 900],
        ['rules.rain.level1.mm3h', 800],
        ['rules.rain.level1.mm12h', 800],
        ['rules.rain.intensityDuration.a', 500],
      ]),
    ]) {
      const full = replayPacked(c, packed);
      tape.rewind();
      try {
        expect(replayPacked(c, packed, tape)).toEqual(full);
        replayed++;
      } catch (err) {
        if (!(err instanceof TapeDiverged)) throw err;
        diverged++;
      }
    }
    // Both paths are exercised: most settings replay, and one that changes what the filter is told
    // about rain elsewhere (no rain at level 1 at all) leaves the tape.
    expect(replayed).toBeGreaterThanOrEqual(4);
    expect(diverged).toBeGreaterThanOrEqual(1);
  });

  it('a sweep runner scores every setting as a full run does, replaying where it can', () => {
    const runner = new SweepRunner(packed, known, options, ['rules.rain.swi.criticalMm']);
    for (const v of [400, 60, 65, 70, 75, 80, 100, 150]) {
      const c = withSetting(config, 'rules.rain.swi.criticalMm', v);
      expect(runner.run(c)).toEqual(runPacked(c, packed, known, options));
    }
    expect(runner.replayed).toBeGreaterThanOrEqual(4);
    expect(runner.recorded + runner.replayed).toBe(8);
  });

  it('never shares a tape across settings the movement sensors read', () => {
    const runner = new SweepRunner(packed, known, options, [
      'rules.rain.swi.criticalMm',
      'rules.displacement.level1.mmPerDay',
    ]);
    for (const v of [2, 5]) {
      const c = withSetting(config, 'rules.displacement.level1.mmPerDay', v);
      expect(runner.run(c)).toEqual(runPacked(c, packed, known, options));
    }
    expect(runner.replayed).toBe(0);
  });
});
