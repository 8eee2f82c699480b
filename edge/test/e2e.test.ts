import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { type AttachedDevice, attachToPath } from '@slopeguard/simulators/devices/device.ts';
import { LineNode } from '@slopeguard/simulators/devices/line-node.ts';
import { ModbusSlave } from '@slopeguard/simulators/devices/modbus-slave.ts';
import { Sdi12Sensor } from '@slopeguard/simulators/devices/sdi12-sensor.ts';
import { type PtyPair, startPtyPair } from '@slopeguard/simulators/serial/socat.ts';
import { afterAll, describe, expect, it } from 'vitest';
import {
  assertRunning,
  kill,
  queuedReadings,
  spawnEdge,
  type TestBroker,
  tempDir,
  testBroker,
  waitFor,
  writeConfig,
} from './helpers.ts';

/**
 * Acceptance 1, edge part: virtual Modbus RTU, SDI-12 and line-protocol devices (simulators) on socat
 * pseudo-terminals -> the gateway (a child process of the CLI, firmware-bridge drivers on the real
 * serialport binding) -> the project's broker -> its SQLite store. Each device counts what it served
 * and every value is unique (a counter), so the store must hold exactly the values 1..n per sensor:
 * nothing missing, nothing twice, nothing invented.
 */
describe('end to end: virtual serial devices -> edge -> broker -> store', () => {
  const tmp = tempDir('e2e');
  let broker: TestBroker;
  let child: ChildProcess | undefined;
  const pairs: PtyPair[] = [];
  const devices: AttachedDevice[] = [];

  afterAll(async () => {
    if (child) await kill(child, 'SIGKILL');
    for (const d of devices) await d.close();
    for (const p of pairs) await p.stop();
    await broker?.close();
    tmp.cleanup();
  });

  it('stores exactly the readings the devices produced', async () => {
    broker = await testBroker(tmp.dir);
    const [rs485, sdi, line] = await Promise.all([startPtyPair(), startPtyPair(), startPtyPair()]);
    pairs.push(rs485, sdi, line);
    const served = { tilt: 0, vwc: 0, ext: 0 };
    const slave = new ModbusSlave([
      {
        unit: 1,
        map: await loadRegisterMap('inclinometer-generic'),
        source: () => ({ x: ++served.tilt / 100, y: -0.5, temp_c: 21.5, supply_v: 12.05 }),
      },
    ]);
    const probe = new Sdi12Sensor({
      address: '5',
      fields: ['vwc'],
      source: () => ({ vwc: 20 + ++served.vwc / 10 }),
    });
    const node = new LineNode({
      node: 'n1',
      intervalMs: 0, // pushed by the test below, once the gateway has its end of the pty open
      sensors: [{ name: 'ext-1', kind: 'displacement', source: () => ({ mm: ++served.ext }) }],
    });
    devices.push(
      await attachToPath(slave, { path: rs485.b, baudRate: 19200, parity: 'even' }),
      await attachToPath(probe, { path: sdi.b, baudRate: 1200, dataBits: 7, parity: 'even' }),
      await attachToPath(node, { path: line.b, baudRate: 115200 }),
    );

    const log = join(tmp.dir, 'edge.log');
    const dataDir = join(tmp.dir, 'data');
    const config = writeConfig(tmp.dir, 'gateway.yaml', {
      site: 'e2e-site',
      gateway: 'gw-e2e',
      dataDir,
      uplink: { url: broker.url, batchIntervalMs: 200 },
      status: { intervalMs: 1000 },
      queue: { commitIntervalMs: 100 },
      drivers: [
        {
          driver: 'modbus-rtu',
          id: 'rs485',
          port: rs485.a,
          baudRate: 19200,
          sensors: [{ id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 200 }],
        },
        {
          driver: 'sdi12',
          id: 'sdi12',
          port: sdi.a,
          sensors: [{ id: 'vwc-1', kind: 'soil_moisture', address: '5', fields: ['vwc'], intervalMs: 300 }],
        },
        {
          driver: 'line',
          id: 'line',
          port: line.a,
          sensors: [{ id: 'ext-1', kind: 'displacement', node: 'n1', name: 'ext-1' }],
        },
      ],
    });
    child = spawnEdge(config, ['--log-level', 'warn'], log);
    const storedOf = (sensor: string) => broker.offered.filter((r) => r.sensor === sensor);
    // A line node pushes whether anyone listens or not: start it once the gateway reports the line
    // driver's port open (the status is published every second here).
    const statusTopic = gatewayTopic('e2e-site', 'gw-e2e', 'status');
    await waitFor('line port open', () => {
      assertRunning(child, log);
      return broker.on(statusTopic).some((st) => {
        const line = (st.sensors as Record<string, { state?: string }> | undefined)?.line;
        return line?.state !== undefined && line.state !== 'down';
      });
    });
    const push = setInterval(() => node.emit(), 200);
    await waitFor(
      'five readings of each sensor in the store',
      () => {
        assertRunning(child, log);
        return ['tilt-1', 'vwc-1', 'ext-1'].every((s) => storedOf(s).length >= 5);
      },
      30_000,
    );

    // Unplug the devices; then everything the gateway read must reach the store.
    clearInterval(push);
    for (const d of devices.splice(0)) await d.close();
    const dbFile = join(dataDir, 'queue.db');
    let last = -1;
    await waitFor(
      'queue empty and store settled',
      () => {
        const now = broker.offered.length;
        const settled = now === last && queuedReadings(dbFile).length === 0;
        last = now;
        return settled;
      },
      20_000,
      500,
    );
    expect(await kill(child, 'SIGTERM')).toBe(0);
    child = undefined;

    const distinct = new Map(broker.offered.map((r) => [`${r.sensor}@${r.ts}`, r]));
    expect(await broker.store.count({ site: 'e2e-site' })).toBe(distinct.size);
    const valuesOf = (sensor: string, field: string) =>
      [...distinct.values()]
        .filter((r) => r.sensor === sensor)
        .sort((a, b) => a.ts - b.ts)
        .map((r) => Math.round((r.values[field] ?? Number.NaN) * 1000) / 1000);
    const range = (n: number, f: (k: number) => number) => Array.from({ length: n }, (_, i) => f(i + 1));
    // The gateway's own count of repeated requests per sensor, from its last full status.
    const lastStatus = broker
      .on(statusTopic)
      .filter((st) => st.sensors !== undefined)
      .at(-1) as {
      sensors: Record<string, { sensors?: Record<string, { errors: Record<string, number> }> }>;
    };
    const retries = (driver: string, sensor: string) =>
      lastStatus.sensors[driver]?.sensors?.[sensor]?.errors.retry ?? 0;
    // Every stored value is one the device served, in order, none twice, none invented. A request
    // answered as the device was unplugged may be lost in flight (one value), and a request repeated
    // after a timeout makes the device serve again while the late first answer is the one read (one
    // value per retry, as the gateway counts them; a loaded machine makes these happen).
    const expectRun = (got: number[], n: number, f: (k: number) => number, repeated = 0) => {
      const all = range(n, f);
      expect(got).toEqual(all.filter((v) => got.includes(v)));
      expect(n - got.length).toBeLessThanOrEqual(1 + repeated);
    };
    expectRun(valuesOf('tilt-1', 'x'), served.tilt, (k) => k / 100, retries('rs485', 'tilt-1'));
    expectRun(
      valuesOf('vwc-1', 'vwc'),
      served.vwc,
      (k) => Math.round((20 + k / 10) * 1000) / 1000,
      retries('sdi12', 'vwc-1'),
    );
    // A pushed line damaged or dropped on the way is counted by the line driver (checksum, bad_line,
    // seq_gap: the node numbers its lines), so the gateway reports each loss it suffered.
    const lineErrors = Object.values(
      (lastStatus.sensors.line as { errors?: Record<string, number> } | undefined)?.errors ?? {},
    ).reduce((a, b) => a + b, 0);
    expectRun(valuesOf('ext-1', 'mm'), served.ext, (k) => k, lineErrors);
    for (const r of distinct.values()) expect(r).toMatchObject({ site: 'e2e-site', gateway: 'gw-e2e' });
  }, 90_000);
});
