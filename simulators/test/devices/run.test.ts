import type { Reading } from '@slopeguard/core';
import { createDriver, type Driver, type DriverConfig } from '@slopeguard/firmware-bridge';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningDevice, runVirtualDevice } from '../../src/devices/run.ts';
import { getScenario } from '../../src/scenarios/index.ts';
import { waitFor } from './wait.ts';

/** `slopeguard sim device ...`: the device it runs is read by a driver built from the config it prints. */
let dev: RunningDevice | undefined;
let driver: Driver | undefined;
afterEach(async () => {
  await driver?.stop();
  await dev?.stop();
  dev = driver = undefined;
});

describe('runVirtualDevice', () => {
  for (const protocol of ['modbus', 'sdi12', 'line'] as const) {
    it(`${protocol}: the printed driver block reads every sensor of the device`, async () => {
      dev = await runVirtualDevice({ protocol, seed: 5, intervalMs: 50 });
      const cfg = { ...dev.driverConfig, intervalMs: 50 } as DriverConfig;
      if (protocol === 'line') delete (cfg as { intervalMs?: number }).intervalMs;
      driver = createDriver(cfg, {});
      const got: Reading[] = [];
      await driver.start((r) => got.push(r));
      const ids = cfg.sensors.map((s) => s.id);
      await waitFor(
        () => ids.every((id) => got.some((r) => r.sensor === id)),
        8000,
        `a reading from each of ${ids.join(', ')}`,
      );
      expect(new Set(got.map((r) => r.sensor))).toEqual(new Set(ids));
    });
  }
});

describe('runVirtualDevice driven by a scenario model', () => {
  const expected = {
    modbus: ['rain-1', 'rain-2', 'tilt-1', 'tilt-2'],
    sdi12: ['ext-1', 'ext-2', 'rain-1', 'rain-2', 'tilt-1', 'tilt-2'],
    line: ['ext-1', 'ext-2', 'rain-1', 'rain-2', 'tilt-1', 'tilt-2'],
  };
  for (const protocol of ['modbus', 'sdi12', 'line'] as const) {
    it(`${protocol}: the scenario's sensors arrive under the scenario's ids`, async () => {
      const scenario = getScenario('slow-creep');
      if (!scenario) throw new Error('slow-creep scenario missing from the registry');
      const run = scenario.create({ seed: 2 });
      dev = await runVirtualDevice({ protocol, intervalMs: 50, scenario: { run, speed: 600 } });
      expect(dev.skipped).toEqual(protocol === 'modbus' ? ['ext-1', 'ext-2'] : []);
      const cfg = { ...dev.driverConfig, ...(protocol === 'line' ? {} : { intervalMs: 50 }) } as DriverConfig;
      driver = createDriver(cfg, {});
      const got: Reading[] = [];
      await driver.start((r) => got.push(r));
      await waitFor(
        () => expected[protocol].every((id) => got.some((r) => r.sensor === id)),
        8000,
        `readings of ${protocol}`,
      );
      expect([...new Set(got.map((r) => r.sensor))].sort()).toEqual(expected[protocol]);
      // Tilt comes through in degrees as the model has it (no calibration configured).
      const tilt = got.find((r) => r.sensor === 'tilt-1');
      const model = run.valuesAt(run.start)['tilt-1'];
      expect(Math.abs((tilt?.values.x ?? 99) - (model?.x ?? 0))).toBeLessThan(0.05);
    });
  }
});
