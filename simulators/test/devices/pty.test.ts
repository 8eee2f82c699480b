import type { Reading } from '@slopeguard/core';
import { createDriver, type Driver, type DriverConfig } from '@slopeguard/firmware-bridge';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { type AttachedDevice, attachToPath } from '../../src/devices/device.ts';
import { LineNode } from '../../src/devices/line-node.ts';
import { ModbusSlave } from '../../src/devices/modbus-slave.ts';
import { Sdi12Sensor } from '../../src/devices/sdi12-sensor.ts';
import { sequence } from '../../src/devices/signal.ts';
import { type PtyPair, startPtyPair } from '../../src/serial/socat.ts';
import { waitFor } from './wait.ts';

/**
 * Acceptance item 1, device side: each virtual device runs on one end of a socat pty pair and the
 * driver reads the other end through the real serialport binding (@serialport/bindings-cpp), exactly
 * as it would read /dev/ttyUSB0. Nothing is faked but the sensor physics.
 */
const T = 1_767_225_600_000;
const clock = () => T;

let pair: PtyPair | undefined;
let device: AttachedDevice | undefined;
let driver: Driver | undefined;

afterEach(async () => {
  await driver?.stop();
  await device?.close();
  await pair?.stop();
  driver = device = pair = undefined;
});

function collect(d: Driver): Reading[] {
  const out: Reading[] = [];
  void d.start((r) => out.push(r));
  return out;
}

const bySensor = (rs: Reading[], id: string) => rs.filter((r) => r.sensor === id);

describe('virtual devices on socat ptys, read through the real binding', () => {
  it('Modbus RTU: inclinometer and rain counter on one bus give the exact readings', async () => {
    pair = await startPtyPair();
    const slave = new ModbusSlave([
      {
        unit: 1,
        map: await loadRegisterMap('inclinometer-generic'),
        source: sequence([
          { x: 1.234, y: -0.5, temp_c: 21.5, supply_v: 12.05 },
          { x: 1.3, y: -0.45, temp_c: 21.6, supply_v: 12.04 },
          { x: 31.5, y: -0.4, temp_c: 21.7, supply_v: 12.03 },
        ]),
      },
      {
        unit: 2,
        map: await loadRegisterMap('rain-counter-generic'),
        source: sequence([
          { count: 4294967290, supply_v: 11.9 },
          { count: 4294967293, supply_v: 11.9 },
          { count: 1, supply_v: 11.9 },
          { count: 1, supply_v: 11.9 },
        ]),
      },
    ]);
    device = await attachToPath(slave, { path: pair.b, baudRate: 19200, parity: 'even' });
    const config: DriverConfig = {
      driver: 'modbus-rtu',
      port: pair.a,
      baudRate: 19200,
      intervalMs: 60_000,
      sensors: [
        {
          id: 'tilt-1',
          kind: 'tilt',
          unit: 1,
          model: 'inclinometer-generic',
          intervalMs: 50,
          calibration: { baseline: { x: 1, y: -0.5 } },
        },
        { id: 'rain-1', kind: 'rain', unit: 2, model: 'rain-counter-generic', intervalMs: 50 },
      ],
    };
    driver = createDriver(config, { clock });
    const got = collect(driver);
    await waitFor(
      () => bySensor(got, 'tilt-1').length >= 3 && bySensor(got, 'rain-1').length >= 3,
      5000,
      'readings',
    );
    expect(bySensor(got, 'tilt-1').slice(0, 3)).toEqual([
      { sensor: 'tilt-1', kind: 'tilt', ts: T, values: { x: 0.234, y: 0, temp_c: 21.5 } },
      { sensor: 'tilt-1', kind: 'tilt', ts: T, values: { x: 0.3, y: 0.05, temp_c: 21.6 } },
      // 31.5 deg is outside the map's +-30 deg range: delivered, marked suspect.
      { sensor: 'tilt-1', kind: 'tilt', ts: T, values: { x: 30.5, y: 0.1, temp_c: 21.7 }, q: 'suspect' },
    ]);
    // First sample is the counter baseline; then 3 tips, then 8 tips across the 2^32 wrap, then none.
    expect(bySensor(got, 'rain-1').slice(0, 3)).toEqual([
      { sensor: 'rain-1', kind: 'rain', ts: T, values: { mm: 0.6 } },
      { sensor: 'rain-1', kind: 'rain', ts: T, values: { mm: 0.8 } },
      { sensor: 'rain-1', kind: 'rain', ts: T, values: { mm: 0 } },
    ]);
    const h = driver.health();
    expect(h.state).toBe('ok');
    expect(h.sensors?.['tilt-1']?.supplyV).toBe(12.03);
    expect(h.sensors?.['rain-1']?.supplyV).toBe(11.9);
    expect(h.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('SDI-12: piezometer (aMC! with CRC, service request), soil-moisture probe and rain gauge', async () => {
    pair = await startPtyPair();
    const bus = new BusOf([
      new Sdi12Sensor({
        address: '3',
        fields: ['kpa', 'temp_c'],
        seconds: 1,
        serviceAfterMs: 20,
        source: sequence([
          { kpa: 12.5, temp_c: 14.25 },
          { kpa: 13.75, temp_c: 14.5 },
        ]),
      }),
      new Sdi12Sensor({ address: '5', fields: ['vwc'], source: sequence([{ vwc: 31.2 }, { vwc: 31.4 }]) }),
      new Sdi12Sensor({
        address: '7',
        fields: ['total_mm'],
        decimals: 1,
        source: sequence([{ total_mm: 10 }, { total_mm: 12.4 }, { total_mm: 13 }]),
      }),
    ]);
    device = await attachToPath(bus, { path: pair.b, baudRate: 1200, dataBits: 7, parity: 'even' });
    driver = createDriver(
      {
        driver: 'sdi12',
        port: pair.a,
        intervalMs: 60_000,
        sensors: [
          {
            id: 'piezo-1',
            kind: 'pore_pressure',
            address: '3',
            fields: ['kpa', 'temp_c'],
            crc: true,
            intervalMs: 50,
          },
          {
            id: 'vwc-1',
            kind: 'soil_moisture',
            address: '5',
            fields: ['vwc'],
            intervalMs: 50,
            calibration: { offset: { vwc: 1.2 } },
          },
          { id: 'rain-2', kind: 'rain', address: '7', fields: ['total_mm'], intervalMs: 50 },
        ],
      },
      { clock },
    );
    const got = collect(driver);
    const enough = () => ['piezo-1', 'vwc-1', 'rain-2'].every((id) => bySensor(got, id).length >= 2);
    await waitFor(enough, 8000, 'SDI-12 readings');
    expect(bySensor(got, 'piezo-1').slice(0, 2)).toEqual([
      { sensor: 'piezo-1', kind: 'pore_pressure', ts: T, values: { kpa: 12.5, temp_c: 14.25 } },
      { sensor: 'piezo-1', kind: 'pore_pressure', ts: T, values: { kpa: 13.75, temp_c: 14.5 } },
    ]);
    expect(bySensor(got, 'vwc-1').slice(0, 2)).toEqual([
      { sensor: 'vwc-1', kind: 'soil_moisture', ts: T, values: { vwc: 30 } },
      { sensor: 'vwc-1', kind: 'soil_moisture', ts: T, values: { vwc: 30.2 } },
    ]);
    expect(bySensor(got, 'rain-2').slice(0, 2)).toEqual([
      { sensor: 'rain-2', kind: 'rain', ts: T, values: { mm: 2.4 } },
      { sensor: 'rain-2', kind: 'rain', ts: T, values: { mm: 0.6 } },
    ]);
  });

  it('line protocol: a node pushing displacement and tip counts gives the exact readings', async () => {
    pair = await startPtyPair();
    const node = new LineNode({
      node: 'n1',
      supplyV: 3.71,
      healthEvery: 1,
      sensors: [
        { name: 'ext-1', kind: 'displacement', source: sequence([{ mm: 10.5 }, { mm: 10.75 }, { mm: 11 }]) },
        { name: 'rg', kind: 'rain', source: sequence([{ count: 7 }, { count: 9 }, { count: 9 }]) },
      ],
    });
    device = await attachToPath(node, { path: pair.b, baudRate: 115200 });
    driver = createDriver(
      {
        driver: 'line',
        port: pair.a,
        sensors: [
          { id: 'disp-1', kind: 'displacement', node: 'n1', name: 'ext-1' },
          { id: 'rain-3', kind: 'rain', node: 'n1', name: 'rg', counter: { mmPerCount: 0.5 } },
        ],
      },
      { clock },
    );
    const got = collect(driver);
    const d = driver;
    await waitFor(() => d.health().state !== 'down', 5000, 'port open');
    for (let i = 0; i < 3; i++) node.emit();
    await waitFor(() => got.length >= 5, 5000, 'line readings');
    expect(got).toEqual([
      { sensor: 'disp-1', kind: 'displacement', ts: T, values: { mm: 10.5 } },
      { sensor: 'disp-1', kind: 'displacement', ts: T, values: { mm: 10.75 } },
      { sensor: 'rain-3', kind: 'rain', ts: T, values: { mm: 1 } },
      { sensor: 'disp-1', kind: 'displacement', ts: T, values: { mm: 11 } },
      { sensor: 'rain-3', kind: 'rain', ts: T, values: { mm: 0 } },
    ]);
    expect(d.health().sensors?.['disp-1']?.supplyV).toBe(3.71);
    expect(d.health().errors).toEqual({});
  });
});

describe('faults on a real pty', () => {
  it('noise before every reply and corrupted replies: counted, retried, every reading exact', async () => {
    pair = await startPtyPair();
    const slave = new ModbusSlave([
      {
        unit: 1,
        map: await loadRegisterMap('inclinometer-generic'),
        source: sequence([{ x: -3.25, y: 0.5, temp_c: 9.5, supply_v: 12 }]),
      },
    ]);
    device = await attachToPath(slave, {
      path: pair.b,
      baudRate: 19200,
      parity: 'even',
      faults: { noise: 1, noiseBytes: 12, corrupt: 0.3 },
      seed: 9,
    });
    driver = createDriver(
      {
        driver: 'modbus-rtu',
        port: pair.a,
        baudRate: 19200,
        timeoutMs: 80,
        retries: 3,
        sensors: [{ id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 20 }],
      },
      { clock },
    );
    const d = driver;
    const got = collect(d);
    await waitFor(() => got.length >= 8, 8000, 'readings through noise and corruption');
    expect(got.slice(0, 8)).toEqual(
      Array(8).fill({ sensor: 'tilt-1', kind: 'tilt', ts: T, values: { x: -3.25, y: 0.5, temp_c: 9.5 } }),
    );
    expect(d.health().errors.retry ?? 0).toBeGreaterThan(0);
  });
});

describe('unplug and replug on a real pty (socat killed and restarted)', () => {
  it('the driver sees the port vanish, reopens with backoff when it is back, and reads again', async () => {
    pair = await startPtyPair();
    const p = pair;
    const slave = new ModbusSlave([
      {
        unit: 1,
        map: await loadRegisterMap('inclinometer-generic'),
        source: sequence([{ x: 1, y: 2, temp_c: 20, supply_v: 12 }]),
      },
    ]);
    device = await attachToPath(slave, { path: p.b, baudRate: 19200, parity: 'even', reopenMs: 20 });
    driver = createDriver(
      {
        driver: 'modbus-rtu',
        port: p.a,
        baudRate: 19200,
        timeoutMs: 100,
        reopenInitialMs: 20,
        reopenMaxMs: 80,
        sensors: [{ id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 50 }],
      },
      { clock },
    );
    const d = driver;
    const got = collect(d);
    await waitFor(() => got.length >= 2, 5000, 'readings before unplug');
    await p.unplug();
    await waitFor(() => d.health().state === 'down', 5000, 'port down after socat was killed');
    await waitFor(() => (d.health().errors.open_failed ?? 0) >= 2, 5000, 'failed reopen attempts');
    const before = got.length;
    await p.replug();
    await waitFor(() => got.length >= before + 2, 5000, 'readings after replug');
    const h = d.health();
    expect(h.reopens).toBe(1);
    expect(h.errors.disconnected).toBe(1);
    expect(got.every((r) => r.values.x === 1 && r.values.y === 2)).toBe(true);
  });
});

/** Several SDI-12 sensors on one bus: every command reaches all, only the addressed one answers. */
class BusOf {
  private readonly devices: Sdi12Sensor[];
  constructor(devices: Sdi12Sensor[]) {
    this.devices = devices;
  }
  attach(send: (b: Uint8Array) => void): void {
    for (const d of this.devices) d.attach(send);
  }
  receive(chunk: Uint8Array): void {
    for (const d of this.devices) d.receive(chunk);
  }
  detach(): void {
    for (const d of this.devices) d.detach();
  }
}
