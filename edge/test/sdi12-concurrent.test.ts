import type { Reading } from '@slopeguard/core';
import { createDriver, type Driver } from '@slopeguard/firmware-bridge';
import { parseConcurrent } from '@slopeguard/firmware-bridge/sdi12/codec.ts';
import {
  type AttachedDevice,
  attachToPath,
  type VirtualDevice,
} from '@slopeguard/simulators/devices/device.ts';
import { Sdi12Sensor } from '@slopeguard/simulators/devices/sdi12-sensor.ts';
import { sequence } from '@slopeguard/simulators/devices/signal.ts';
import { type PtyPair, startPtyPair } from '@slopeguard/simulators/serial/socat.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './helpers.ts';

/**
 * SDI-12 concurrent measurement: with `concurrent: true` the driver starts every sensor of the bus
 * with aC! (aCC! for a CRC sensor) before it fetches any data, then reads each after its announced
 * time. The virtual sensors hold their values back until that time has passed, as real ones do.
 */
const T = 1_767_225_600_000;

/** Several sensors on one bus; keeps the commands the master put on the bus, in order. */
class Bus implements VirtualDevice {
  readonly commands: string[] = [];
  readonly sensors: Sdi12Sensor[];
  #text = '';
  constructor(sensors: Sdi12Sensor[]) {
    this.sensors = sensors;
  }
  attach(send: (b: Uint8Array) => void): void {
    for (const s of this.sensors) s.attach(send);
  }
  receive(chunk: Uint8Array): void {
    this.#text += Buffer.from(chunk).toString('latin1');
    for (let i = this.#text.indexOf('!'); i >= 0; i = this.#text.indexOf('!')) {
      this.commands.push(this.#text.slice(0, i + 1));
      this.#text = this.#text.slice(i + 1);
    }
    for (const s of this.sensors) s.receive(chunk);
  }
  detach(): void {
    for (const s of this.sensors) s.detach();
  }
}

let pair: PtyPair | undefined;
let device: AttachedDevice | undefined;
let driver: Driver | undefined;
afterEach(async () => {
  await driver?.stop();
  await device?.close();
  await pair?.stop();
  driver = device = pair = undefined;
});

describe('SDI-12 concurrent measurement (aC!, aCC!)', () => {
  it('parses the atttnn reply (two-digit count) and refuses the aM! form', () => {
    expect(parseConcurrent('300112', '3')).toEqual({
      ok: true,
      value: { seconds: 1, count: 12 },
    });
    expect(parseConcurrent('30012', '3').ok).toBe(false);
    expect(parseConcurrent('400102', '3').ok).toBe(false);
  });

  it('starts all sensors on the bus before reading any, and reads each exactly', async () => {
    pair = await startPtyPair();
    const sensors = [
      new Sdi12Sensor({
        address: '3',
        fields: ['kpa', 'temp_c'],
        seconds: 1,
        source: sequence([{ kpa: 12.5, temp_c: 14.25 }]),
      }),
      new Sdi12Sensor({ address: '5', fields: ['vwc'], seconds: 1, source: sequence([{ vwc: 31.2 }]) }),
      new Sdi12Sensor({
        address: '9',
        fields: ['x', 'y'],
        seconds: 1,
        source: sequence([{ x: 0.125, y: -0.5 }]),
      }),
    ];
    const bus = new Bus(sensors);
    device = await attachToPath(bus, { path: pair.b, baudRate: 1200, dataBits: 7, parity: 'even' });
    driver = createDriver(
      {
        driver: 'sdi12',
        port: pair.a,
        intervalMs: 600_000,
        concurrent: true,
        sensors: [
          { id: 'piezo-1', kind: 'pore_pressure', address: '3', fields: ['kpa', 'temp_c'], crc: true },
          { id: 'vwc-1', kind: 'soil_moisture', address: '5', fields: ['vwc'] },
          { id: 'tilt-1', kind: 'tilt', address: '9', fields: ['x', 'y'] },
        ],
      },
      { clock: () => T },
    );
    const got: Reading[] = [];
    void driver.start((r) => got.push(r));
    await waitFor('one reading of each sensor', () => got.length >= 3);
    expect([...got].sort((a, b) => a.sensor.localeCompare(b.sensor))).toEqual([
      { sensor: 'piezo-1', kind: 'pore_pressure', ts: T, values: { kpa: 12.5, temp_c: 14.25 } },
      { sensor: 'tilt-1', kind: 'tilt', ts: T, values: { x: 0.125, y: -0.5 } },
      { sensor: 'vwc-1', kind: 'soil_moisture', ts: T, values: { vwc: 31.2 } },
    ]);
    // All three started before the first data request: the measurements ran at the same time.
    expect(bus.commands.slice(0, 3)).toEqual(['3CC!', '5C!', '9C!']);
    expect(bus.commands.slice(3).every((c) => /^[359]D\d!$/.test(c))).toBe(true);
    expect(sensors.map((s) => s.measurements)).toEqual([1, 1, 1]);
    expect(driver.health().state).toBe('ok');
  });
});
