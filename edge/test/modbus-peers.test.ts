import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Reading } from '@slopeguard/core';
import { createDriver, type Driver } from '@slopeguard/firmware-bridge';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { type AttachedDevice, attachToPath } from '@slopeguard/simulators/devices/device.ts';
import { ModbusSlave } from '@slopeguard/simulators/devices/modbus-slave.ts';
import { sequence } from '@slopeguard/simulators/devices/signal.ts';
import { type PtyPair, startPtyPair } from '@slopeguard/simulators/serial/socat.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, tempDir, waitFor } from './helpers.ts';

/**
 * Acceptance 3: Modbus RTU against peers nobody here wrote. The gateway's Modbus master reads
 * registers served by pymodbus (Debian's python3-pymodbus, which also does the encoding of the values
 * into registers), and mbpoll (Debian's libmodbus-based master) reads the simulators' virtual slave.
 * Both on socat pty pairs. Our map and their encoding must agree to the last digit.
 */
const PYMODBUS_SLAVE = join(ROOT, 'simulators/src/devices/pymodbus-slave.py');
const MBPOLL = '/usr/bin/mbpoll';
const T = 1_767_225_600_000;

let pair: PtyPair | undefined;
let slave: ChildProcess | undefined;
let device: AttachedDevice | undefined;
let driver: Driver | undefined;
const tmp = tempDir('modbus-peers');

afterEach(async () => {
  await driver?.stop();
  await device?.close();
  if (slave && slave.exitCode === null && slave.signalCode === null) {
    const exited = once(slave, 'exit');
    slave.kill('SIGTERM');
    await exited;
  }
  await pair?.stop();
  driver = device = slave = pair = undefined;
});

interface Field {
  unit: number;
  table: 'holding' | 'input';
  address: number;
  type: 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
  value: number;
  wordorder?: 'low-first';
}

/** pymodbus serving `fields` on `port`; resolves when its serial port is open. */
async function startPymodbus(port: string, fields: Field[]): Promise<ChildProcess> {
  // 8N1: Linux ptys refuse pyserial's tcsetattr with parity enabled (EINVAL); parity means nothing
  // on a pty anyway, and the gateway's driver is configured to match.
  const p = spawn('/usr/bin/python3', [PYMODBUS_SLAVE, port, '19200', 'none', JSON.stringify(fields)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  p.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  p.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  await waitFor('pymodbus ready', () => {
    if (p.exitCode !== null) throw new Error(`pymodbus exited: ${out}`);
    return out.includes('ready');
  });
  return p;
}

function mbpoll(args: string[], port: string): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      MBPOLL,
      ['-m', 'rtu', '-b', '19200', '-P', 'even', '-1', '-0', ...args, port],
      (_e, stdout, stderr) => resolve(stdout + stderr),
    );
  });
}

/** mbpoll's values: lines `[ref]: \tvalue` (a 16-bit value it also shows signed as `65036 (-500)`). */
function values(out: string): Record<number, number> {
  const v: Record<number, number> = {};
  for (const m of out.matchAll(/^\[(\d+)\]:\s+(-?[\d.]+)/gm)) v[Number(m[1])] = Number(m[2]);
  return v;
}

describe('Modbus RTU against third-party peers on ptys', () => {
  it("the gateway's master reads pymodbus's slave through the shipped maps, exactly", async () => {
    pair = await startPtyPair();
    slave = await startPymodbus(pair.b, [
      // inclinometer-generic: x, y int32 high word first (thousandths of a degree), temp, supply.
      { unit: 1, table: 'input', address: 0, type: 'int32', value: 1234 },
      { unit: 1, table: 'input', address: 2, type: 'int32', value: -500 },
      { unit: 1, table: 'input', address: 4, type: 'int16', value: -105 },
      { unit: 1, table: 'input', address: 5, type: 'uint16', value: 1205 },
      // crack-meter-generic: IEEE-754 floats, high word first.
      { unit: 3, table: 'holding', address: 0, type: 'float32', value: 2.625 },
      { unit: 3, table: 'holding', address: 2, type: 'float32', value: -3.25 },
      { unit: 3, table: 'holding', address: 4, type: 'uint16', value: 1190 },
      // rain-counter-generic: a 32-bit tip count, low word first.
      { unit: 4, table: 'holding', address: 0, type: 'uint32', value: 4_294_967_290, wordorder: 'low-first' },
      // piezometer-4-20ma-logger: 12 mA on channel 1 = 350 kPa.
      { unit: 5, table: 'input', address: 0, type: 'uint16', value: 12_000 },
    ]);
    // A map that reads past pymodbus's 64 registers: pymodbus answers with an exception.
    const maps = join(tmp.dir, 'maps');
    mkdirSync(maps, { recursive: true });
    writeFileSync(
      join(maps, 'far-tilt.yaml'),
      'model: far-tilt\nkind: tilt\nfunction: 4\nfields:\n  - { name: x, address: 100, type: int16 }\n  - { name: y, address: 101, type: int16 }\n',
    );
    driver = createDriver(
      {
        driver: 'modbus-rtu',
        port: pair.a,
        baudRate: 19200,
        parity: 'none',
        intervalMs: 60_000,
        mapsDir: maps,
        sensors: [
          { id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 100 },
          { id: 'crack-1', kind: 'displacement', unit: 3, model: 'crack-meter-generic', intervalMs: 100 },
          { id: 'rain-1', kind: 'rain', unit: 4, model: 'rain-counter-generic', intervalMs: 100 },
          {
            id: 'piezo-1',
            kind: 'pore_pressure',
            unit: 5,
            model: 'piezometer-4-20ma-logger',
            intervalMs: 100,
          },
          { id: 'far-1', kind: 'tilt', unit: 1, model: 'far-tilt', intervalMs: 100 },
        ],
      },
      { clock: () => T },
    );
    const got: Reading[] = [];
    void driver.start((r) => got.push(r));
    const first = (id: string) => got.find((r) => r.sensor === id);
    await waitFor('a reading of each sensor', () =>
      ['tilt-1', 'crack-1', 'rain-1', 'piezo-1'].every((id) => first(id)),
    );
    expect(first('tilt-1')).toEqual({
      sensor: 'tilt-1',
      kind: 'tilt',
      ts: T,
      values: { x: 1.234, y: -0.5, temp_c: -10.5 },
    });
    expect(first('crack-1')).toEqual({
      sensor: 'crack-1',
      kind: 'displacement',
      ts: T,
      values: { mm: 2.625, temp_c: -3.25 },
    });
    // The first count is the baseline; pymodbus's count does not change, so 0 mm since.
    expect(first('rain-1')).toEqual({ sensor: 'rain-1', kind: 'rain', ts: T, values: { mm: 0 } });
    expect(first('piezo-1')).toEqual({
      sensor: 'piezo-1',
      kind: 'pore_pressure',
      ts: T,
      values: { kpa: 350 },
    });
    const h = driver.health();
    expect(h.sensors?.['tilt-1']?.supplyV).toBe(12.05);
    expect(h.sensors?.['crack-1']?.supplyV).toBe(11.9);
    await waitFor('the exception from pymodbus', () => driver?.health().sensors?.['far-1']?.errors.exception);
    expect(driver.health().sensors?.['far-1']?.lastError).toBe(
      'exception: unit 1 fc 4: ILLEGAL_DATA_ADDRESS',
    );
    expect(got.some((r) => r.sensor === 'far-1')).toBe(false);
  });

  it("mbpoll reads the simulators' virtual slave: 16-bit, 32-bit both word orders, float, exception", async () => {
    pair = await startPtyPair();
    const virtual = new ModbusSlave([
      {
        unit: 1,
        map: await loadRegisterMap('inclinometer-generic'),
        source: sequence([{ x: 1.234, y: -0.5, temp_c: -10.5, supply_v: 12.05 }]),
      },
      {
        unit: 4,
        map: await loadRegisterMap('rain-counter-generic'),
        source: sequence([{ count: 4_294_967_290, supply_v: 11.9 }]),
      },
      {
        unit: 3,
        map: await loadRegisterMap('crack-meter-generic'),
        source: sequence([{ mm: 2.625, temp_c: -3.25, supply_v: 11.9 }]),
      },
    ]);
    device = await attachToPath(virtual, { path: pair.b, baudRate: 19200, parity: 'even' });
    const port = pair.a;
    // Input registers 0-3 as two 32-bit integers, high word first (-B): the tilt in thousandths.
    expect(values(await mbpoll(['-a', '1', '-t', '3:int', '-B', '-r', '0', '-c', '2'], port))).toEqual({
      0: 1234,
      2: -500,
    });
    // Registers 4-5 as 16-bit words: temperature (int16, shown signed) and supply voltage.
    const words = await mbpoll(['-a', '1', '-t', '3', '-r', '4', '-c', '2'], port);
    expect(words).toMatch(/^\[4\]:\s+65431 \(-105\)$/m);
    expect(values(words)[5]).toBe(1205);
    // A 32-bit count low word first: mbpoll's default word order.
    expect(values(await mbpoll(['-a', '4', '-t', '4:int', '-r', '0', '-c', '1'], port))).toEqual({ 0: -6 });
    // Floats, high word first.
    expect(values(await mbpoll(['-a', '3', '-t', '4:float', '-B', '-r', '0', '-c', '2'], port))).toEqual({
      0: 2.625,
      2: -3.25,
    });
    // Outside the map: the slave answers ILLEGAL DATA ADDRESS, and mbpoll understands the exception.
    expect(await mbpoll(['-a', '1', '-t', '3', '-r', '40', '-c', '1'], port)).toMatch(
      /Illegal data address/i,
    );
    // And a function code the slave does not serve: ILLEGAL FUNCTION (coils, fc 01).
    expect(await mbpoll(['-a', '1', '-t', '0', '-r', '0', '-c', '1'], port)).toMatch(/Illegal function/i);
  });
});
