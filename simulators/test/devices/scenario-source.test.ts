import type { Reading } from '@slopeguard/core';
import { createDriver, type Driver } from '@slopeguard/firmware-bridge';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { createMockLine } from '@slopeguard/firmware-bridge/serial/mock-line.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { type AttachedDevice, attachToMockLine } from '../../src/devices/device.ts';
import { ModbusSlave } from '../../src/devices/modbus-slave.ts';
import { type ScenarioLike, scenarioSource } from '../../src/devices/scenario-source.ts';
import { waitFor } from './wait.ts';

/**
 * A scenario stand-in with the shape of simulators/src/scenarios' ScenarioRun (start, valuesAt):
 * 1 mm of rain per simulated minute, tilt growing 0.01 deg per simulated minute, and the tilt sensor
 * silent from minute 10 on.
 */
const MIN = 60_000;
const stub: ScenarioLike = {
  start: 0,
  valuesAt(ts, intervalMs = MIN) {
    return {
      rg: { mm: intervalMs / MIN },
      tilt: ts >= 10 * MIN ? null : { x: 0.01 * (ts / MIN), y: 0 },
    };
  },
};

let driver: Driver | undefined;
let device: AttachedDevice | undefined;
afterEach(async () => {
  await driver?.stop();
  await device?.close();
  driver = device = undefined;
});

describe('scenarioSource', () => {
  it('maps real time to scenario time and keeps a rain gauge total (count or total_mm)', () => {
    const counts = scenarioSource(stub, 'rg', { kind: 'rain', anchor: 0, speed: 60 });
    expect([0, 1000, 2000, 2500].map((t) => counts(t))).toEqual([
      { count: 0 },
      { count: 5 },
      { count: 10 },
      { count: 12 },
    ]);
    const total = scenarioSource(stub, 'rg', {
      kind: 'rain',
      anchor: 0,
      speed: 60,
      rain: { as: 'total_mm' },
    });
    expect([0, 1000, 1500].map((t) => total(t))).toEqual([
      { total_mm: 0 },
      { total_mm: 1 },
      { total_mm: 1.5 },
    ]);
    const tilt = scenarioSource(stub, 'tilt', { kind: 'tilt', anchor: 0, speed: 60 });
    expect(tilt(5000)).toEqual({ x: 0.05, y: 0 });
    expect(tilt(10_000)).toBeNull();
  });

  it('drives a virtual Modbus device; a sensor the scenario makes silent stops answering', async () => {
    const line = createMockLine();
    let now = 0;
    const source = scenarioSource(stub, 'tilt', { kind: 'tilt', anchor: 0, speed: 60 });
    const slave = new ModbusSlave(
      [{ unit: 1, map: await loadRegisterMap('inclinometer-generic'), source }],
      () => now,
    );
    device = attachToMockLine(slave, line);
    const d = createDriver(
      {
        driver: 'modbus-rtu',
        port: line.path,
        timeoutMs: 30,
        retries: 0,
        sensors: [{ id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 50 }],
      },
      { binding: line.binding, clock: () => now },
    );
    driver = d;
    const got: Reading[] = [];
    await d.start((r) => got.push(r));
    await waitFor(() => got.length >= 1, 2000, 'a reading');
    expect(got[0]?.values.x).toBe(0);
    now = 3000; // 3 min into the scenario
    await waitFor(() => got.some((r) => r.values.x === 0.03), 2000, 'tilt from the scenario');
    now = 11_000; // the scenario has the sensor silent
    await waitFor(() => (d.health().errors.timeout ?? 0) >= 1, 2000, 'timeout while silent');
  });
});
