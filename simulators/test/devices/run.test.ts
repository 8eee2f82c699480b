import type { Reading } from '@slopeguard/core';
import { createDriver, type Driver, type DriverConfig } from '@slopeguard/firmware-bridge';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningDevice, runVirtualDevice } from '../../src/devices/run.ts';
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
