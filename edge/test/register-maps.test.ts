import type { Reading } from '@slopeguard/core';
import { createDriver, type Driver } from '@slopeguard/firmware-bridge';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { type AttachedDevice, attachToPath } from '@slopeguard/simulators/devices/device.ts';
import { ModbusSlave } from '@slopeguard/simulators/devices/modbus-slave.ts';
import { sequence } from '@slopeguard/simulators/devices/signal.ts';
import { type PtyPair, startPtyPair } from '@slopeguard/simulators/serial/socat.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.ts';

/**
 * The shipped register maps for the instruments a slope has (extensometer, crack meter, piezometer
 * behind a data logger, soil moisture probe): a virtual slave serves each map's registers on one end
 * of a socat pty pair, the Modbus driver reads the other end through the real serial binding, and the
 * readings must come out exactly, in contract units, with out-of-range values marked suspect.
 */
const T = 1_767_225_600_000;

let pair: PtyPair | undefined;
let device: AttachedDevice | undefined;
let driver: Driver | undefined;

afterEach(async () => {
  await driver?.stop();
  await device?.close();
  await pair?.stop();
  driver = device = pair = undefined;
});

describe('shipped register maps, read from a virtual slave on a pty', () => {
  it('extensometer, crack meter, 4-20 mA piezometer on a logger and soil moisture probe on one bus', async () => {
    pair = await startPtyPair();
    const slave = new ModbusSlave([
      {
        unit: 1,
        map: await loadRegisterMap('extensometer-wire-generic'),
        source: sequence([
          { mm: 123.45, temp_c: 18.5, supply_v: 12.2 },
          { mm: 1000.01, temp_c: 18.4, supply_v: 12.2 },
        ]),
      },
      {
        unit: 2,
        map: await loadRegisterMap('crack-meter-generic'),
        source: sequence([
          { mm: 2.5, temp_c: -3.25, supply_v: 12.1 },
          { mm: 2.625, temp_c: -3.5, supply_v: 12.1 },
        ]),
      },
      {
        unit: 3,
        // The slave encodes engineering values with the map: kpa 350 is 12,000 uA in the register,
        // kpa -175 is 0 uA (a broken loop), which is below the range.
        map: await loadRegisterMap('piezometer-4-20ma-logger'),
        source: sequence([
          { kpa: 350, supply_v: 13.1 },
          { kpa: -175, supply_v: 13.1 },
        ]),
      },
      {
        unit: 4,
        map: await loadRegisterMap('soil-moisture-generic'),
        source: sequence([
          { vwc: 31.2, temp_c: -1.5, ec: 420 },
          { vwc: 33.9, temp_c: 0.5, ec: 455 },
        ]),
      },
    ]);
    device = await attachToPath(slave, { path: pair.b, baudRate: 19200, parity: 'even' });
    driver = createDriver(
      {
        driver: 'modbus-rtu',
        port: pair.a,
        baudRate: 19200,
        intervalMs: 60_000,
        sensors: [
          { id: 'ext-1', kind: 'displacement', unit: 1, model: 'extensometer-wire-generic', intervalMs: 50 },
          { id: 'crack-1', kind: 'displacement', unit: 2, model: 'crack-meter-generic', intervalMs: 50 },
          {
            id: 'piezo-1',
            kind: 'pore_pressure',
            unit: 3,
            model: 'piezometer-4-20ma-logger',
            intervalMs: 50,
          },
          { id: 'vwc-1', kind: 'soil_moisture', unit: 4, model: 'soil-moisture-generic', intervalMs: 50 },
        ],
      },
      { clock: () => T },
    );
    const got: Reading[] = [];
    void driver.start((r) => got.push(r));
    const of = (id: string) => got.filter((r) => r.sensor === id).slice(0, 2);
    await waitFor('two readings of each sensor', () =>
      ['ext-1', 'crack-1', 'piezo-1', 'vwc-1'].every((id) => of(id).length === 2),
    );
    expect(of('ext-1')).toEqual([
      { sensor: 'ext-1', kind: 'displacement', ts: T, values: { mm: 123.45, temp_c: 18.5 } },
      // Past the 1000 mm travel: the wire is at its end stop, the value cannot be trusted.
      { sensor: 'ext-1', kind: 'displacement', ts: T, values: { mm: 1000.01, temp_c: 18.4 }, q: 'suspect' },
    ]);
    expect(of('crack-1')).toEqual([
      { sensor: 'crack-1', kind: 'displacement', ts: T, values: { mm: 2.5, temp_c: -3.25 } },
      { sensor: 'crack-1', kind: 'displacement', ts: T, values: { mm: 2.625, temp_c: -3.5 } },
    ]);
    expect(of('piezo-1')).toEqual([
      { sensor: 'piezo-1', kind: 'pore_pressure', ts: T, values: { kpa: 350 } },
      { sensor: 'piezo-1', kind: 'pore_pressure', ts: T, values: { kpa: -175 }, q: 'suspect' },
    ]);
    expect(of('vwc-1')).toEqual([
      { sensor: 'vwc-1', kind: 'soil_moisture', ts: T, values: { vwc: 31.2, temp_c: -1.5, ec: 420 } },
      { sensor: 'vwc-1', kind: 'soil_moisture', ts: T, values: { vwc: 33.9, temp_c: 0.5, ec: 455 } },
    ]);
    const h = driver.health();
    expect(h.sensors?.['piezo-1']?.supplyV).toBe(13.1);
    expect(h.sensors?.['ext-1']?.supplyV).toBe(12.2);
  });

  it('the piezometer map turns loop current into kPa as the 4-20 mA line says', async () => {
    const map = await loadRegisterMap('piezometer-4-20ma-logger');
    const kpa = map.fields.find((f) => f.name === 'kpa');
    const at = (uA: number) => uA * (kpa?.scale ?? 1) + (kpa?.offset ?? 0);
    expect([at(4000), at(12_000), at(20_000)]).toEqual([0, 350, 700]);
  });
});
