import { Writable } from 'node:stream';
import type { Reading } from '@slopeguard/core';
import { createDriver, type Driver, type DriverConfig } from '@slopeguard/firmware-bridge';
import { xorChecksum } from '@slopeguard/firmware-bridge/line/codec.ts';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { createMockLine, type MockLine } from '@slopeguard/firmware-bridge/serial/mock-line.ts';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type AttachedDevice, attachToMockLine, type Faults } from '../../src/devices/device.ts';
import { LineNode } from '../../src/devices/line-node.ts';
import { ModbusSlave } from '../../src/devices/modbus-slave.ts';
import { Sdi12Sensor } from '../../src/devices/sdi12-sensor.ts';
import { sequence } from '../../src/devices/signal.ts';
import { waitFor } from './wait.ts';

/**
 * Garbage on the line, on serialport's MockBinding (the far end is a virtual device; the driver,
 * master, decoders and SerialPortStream are the real ones). Faults come from the device's injector.
 */
const T = 1_767_225_600_000;
let driver: Driver | undefined;
let device: AttachedDevice | undefined;

afterEach(async () => {
  await driver?.stop();
  await device?.close();
  driver = device = undefined;
});

function memoryLogger(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  return {
    logger: pino({ level: 'info' }, stream),
    lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function modbusRig(faults: Partial<Faults>, extra: Partial<DriverConfig> = {}) {
  const line = createMockLine();
  const slave = new ModbusSlave([
    {
      unit: 1,
      map: await loadRegisterMap('inclinometer-generic'),
      source: sequence([{ x: 2.5, y: -1.25, temp_c: 20, supply_v: 12 }]),
    },
  ]);
  device = attachToMockLine(slave, line, { faults, seed: 42 });
  const mem = memoryLogger();
  const config = {
    driver: 'modbus-rtu',
    port: line.path,
    baudRate: 115200,
    timeoutMs: 30,
    retries: 2,
    reopenInitialMs: 10,
    reopenMaxMs: 40,
    sensors: [{ id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 50 }],
    ...extra,
  } as DriverConfig;
  driver = createDriver(config, { binding: line.binding, clock: () => T, logger: mem.logger });
  const readings: Reading[] = [];
  await driver.start((r) => readings.push(r));
  return { line, slave, driver, readings, logs: mem.lines, faults: device.faults };
}

const TILT = { sensor: 'tilt-1', kind: 'tilt', ts: T, values: { x: 2.5, y: -1.25, temp_c: 20 } };

describe('Modbus driver under faults', () => {
  it('a device that stops answering: timeout, retries, health shows it, log once; recovers when it answers', async () => {
    const rig = await modbusRig({ silent: true });
    const d = rig.driver;
    await waitFor(() => (d.health().errors.timeout ?? 0) >= 3, 3000, 'three failed polls');
    const h = d.health();
    expect(rig.readings).toEqual([]);
    // Each failed poll is one timeout after 1 + 2 attempts.
    expect(h.errors.retry).toBe(2 * (h.errors.timeout ?? 0));
    expect(h.sensors?.['tilt-1']?.lastError).toMatch(/^timeout: unit 1 fc 4 @0x6: no response/);
    expect(h.sensors?.['tilt-1']?.state).not.toBe('ok');
    expect(h.state).toBe('degraded');
    const warns = rig.logs().filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    rig.faults.silent = false;
    await waitFor(() => rig.readings.length >= 1, 2000, 'reading after recovery');
    expect(rig.readings[0]).toEqual(TILT);
    expect(d.health().state).toBe('ok');
    expect(rig.logs().some((l) => l.msg === 'recovered')).toBe(true);
  });

  it('noise bytes before every reply do not lose a reading', async () => {
    const rig = await modbusRig({ noise: 1, noiseBytes: 16 });
    await waitFor(() => rig.readings.length >= 5, 3000, 'readings through noise');
    expect(rig.readings.slice(0, 5)).toEqual(Array(5).fill(TILT));
  });

  it('bad CRCs and truncated frames are counted by reason and retried', async () => {
    const rig = await modbusRig({ corrupt: 0.5, truncate: 0.3 });
    await waitFor(() => rig.readings.length >= 5, 5000, 'readings despite corruption');
    const h = rig.driver.health();
    expect((h.errors.retry ?? 0) + (h.errors.crc ?? 0) + (h.errors.truncated ?? 0)).toBeGreaterThan(0);
    expect(rig.readings.every((r) => JSON.stringify(r) === JSON.stringify(TILT))).toBe(true);
  });

  it('a slow device within the timeout is read; beyond it, it times out', async () => {
    const rig = await modbusRig({ delayMs: 15 });
    await waitFor(() => rig.readings.length >= 1, 2000, 'slow reading');
    expect(rig.driver.health().latencyMs).toBeGreaterThanOrEqual(14);
    // Beyond every attempt's window: 3 attempts x 30 ms all end before the first reply lands.
    rig.faults.delayMs = 200;
    await waitFor(() => (rig.driver.health().errors.timeout ?? 0) >= 1, 3000, 'timeout on a too-slow reply');
  });

  it('exception responses are decoded to named errors and not retried', async () => {
    const line = createMockLine();
    // The device serves only holding registers (the rain counter layout); the inclinometer map reads
    // input registers (fc 4), which this device does not have: ILLEGAL_DATA_ADDRESS.
    const slave = new ModbusSlave([
      { unit: 1, map: await loadRegisterMap('rain-counter-generic'), source: sequence([{ count: 1 }]) },
    ]);
    device = attachToMockLine(slave, line);
    const d = createDriver(
      {
        driver: 'modbus-rtu',
        port: line.path,
        timeoutMs: 30,
        sensors: [{ id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 50 }],
      },
      { binding: line.binding },
    );
    driver = d;
    await d.start(() => {});
    await waitFor(() => (d.health().errors.exception ?? 0) >= 1, 2000, 'exception');
    expect(d.health().lastError).toBe('exception: unit 1 fc 4: ILLEGAL_DATA_ADDRESS');
    expect(d.health().errors.retry).toBeUndefined();
  });

  it('unplug and replug: port down, reopened with capped backoff, readings resume', async () => {
    const rig = await modbusRig({});
    const d = rig.driver;
    await waitFor(() => rig.readings.length >= 1, 2000, 'first reading');
    rig.line.unplug();
    await waitFor(() => d.health().state === 'down', 2000, 'port down');
    await waitFor(() => (d.health().errors.open_failed ?? 0) >= 3, 2000, 'reopen attempts while unplugged');
    const before = rig.readings.length;
    rig.line.replug();
    await waitFor(() => rig.readings.length > before, 2000, 'readings after replug');
    const h = d.health();
    expect(h.reopens).toBe(1);
    expect(h.errors.disconnected).toBe(1);
    expect(h.state).toBe('ok');
    // One warn for the disconnect, one for the run of failed opens: not one per attempt.
    expect(rig.logs().filter((l) => l.level === 40)).toHaveLength(2);
  });
});

describe('SDI-12 driver under faults', () => {
  it('noise and corruption on aMC! replies are caught by the CRC and retried; values stay exact', async () => {
    const line = createMockLine();
    const sensor = new Sdi12Sensor({ address: '2', fields: ['kpa'], source: sequence([{ kpa: 101.25 }]) });
    // SDI-12's aM! reply carries no CRC: a bit flip in its ttt digits makes the master wait that long
    // (up to 999 s by the standard). The seed is one whose faults spare those digits, to keep this fast.
    device = attachToMockLine(sensor, line, { faults: { noise: 0.3, corrupt: 0.3 }, seed: 13 });
    const d = createDriver(
      {
        driver: 'sdi12',
        port: line.path,
        timeoutMs: 30,
        retries: 5,
        sensors: [
          { id: 'pz-1', kind: 'pore_pressure', address: '2', fields: ['kpa'], crc: true, intervalMs: 50 },
        ],
      },
      { binding: line.binding, clock: () => T },
    );
    driver = d;
    const got: Reading[] = [];
    await d.start((r) => got.push(r));
    await waitFor(() => got.length >= 5, 5000, 'SDI-12 readings');
    expect(got.slice(0, 5)).toEqual(
      Array(5).fill({ sensor: 'pz-1', kind: 'pore_pressure', ts: T, values: { kpa: 101.25 } }),
    );
    expect(d.health().errors.retry ?? 0).toBeGreaterThan(0);
  });

  it('a sensor that does not answer shows as timeouts in its health', async () => {
    const line = createMockLine();
    device = attachToMockLine(
      new Sdi12Sensor({ address: '2', fields: ['kpa'], source: sequence([{ kpa: 1 }]) }),
      line,
      { faults: { silent: true } },
    );
    const d = createDriver(
      {
        driver: 'sdi12',
        port: line.path,
        timeoutMs: 20,
        retries: 1,
        sensors: [{ id: 'pz-1', kind: 'pore_pressure', address: '2', fields: ['kpa'], intervalMs: 50 }],
      },
      { binding: line.binding },
    );
    driver = d;
    await d.start(() => {});
    await waitFor(() => (d.health().sensors?.['pz-1']?.errors.timeout ?? 0) >= 2, 2000, 'timeouts');
    expect(d.health().sensors?.['pz-1']?.lastError).toBe('timeout: 2M!: no response');
  });
});

describe('line driver under faults', () => {
  const seal = (body: string) =>
    `$${body}*${xorChecksum(body).toString(16).toUpperCase().padStart(2, '0')}\r\n`;

  async function lineRig(faults: Partial<Faults>) {
    const line: MockLine = createMockLine();
    const node = new LineNode({
      node: 'n7',
      sensors: [
        {
          name: 'pz',
          kind: 'pore_pressure',
          source: sequence([{ kpa: 5 }, { kpa: 6 }, { kpa: 7 }, { kpa: 8 }]),
        },
      ],
    });
    device = attachToMockLine(node, line, { faults, seed: 3 });
    const d = createDriver(
      {
        driver: 'line',
        port: line.path,
        sensors: [{ id: 'pz-7', kind: 'pore_pressure', node: 'n7', name: 'pz' }],
      },
      { binding: line.binding, clock: () => T },
    );
    driver = d;
    const got: Reading[] = [];
    await d.start((r) => got.push(r));
    return { node, d, got, faults: device.faults };
  }

  it('noise before every line, a bad checksum and an unknown sensor are counted; every good line arrives', async () => {
    const { node, d, got } = await lineRig({ noise: 1, noiseBytes: 40 });
    node.emit();
    node.sendRaw('$SG,R,n7,1,pz,pore_pressure,kpa=99*00\r\n');
    node.sendRaw(seal('SG,R,n9,0,other,pore_pressure,kpa=1'));
    node.emit();
    node.emit();
    await waitFor(() => got.length >= 3, 2000, 'three readings');
    expect(got.map((r) => r.values.kpa)).toEqual([5, 6, 7]);
    const h = d.health();
    expect(h.errors.checksum).toBe(1);
    expect(h.errors.unknown_sensor).toBe(1);
    expect(h.errors.noise_bytes).toBeGreaterThan(0);
    expect(h.errors.seq_gap).toBeUndefined();
  });

  it('a lost line shows as a sequence gap', async () => {
    const { node, d, got, faults } = await lineRig({});
    node.emit();
    faults.silent = true;
    node.emit();
    faults.silent = false;
    node.emit();
    await waitFor(() => got.length >= 2, 2000, 'two readings');
    expect(got.map((r) => r.values.kpa)).toEqual([5, 7]);
    expect(d.health().errors.seq_gap).toBe(1);
  });
});
