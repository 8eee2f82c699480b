/**
 * Decoder throughput of firmware-bridge (frames per second on one core) and the request-to-reading
 * latency of a Modbus poll over a socat pty through the real serialport binding. Loopback only.
 */
import { createDriver } from '@slopeguard/firmware-bridge';
import { encodeLine, parseLine } from '@slopeguard/firmware-bridge/line/codec.ts';
import { encodeReadResponse, scanResponse } from '@slopeguard/firmware-bridge/modbus/frame.ts';
import { loadRegisterMap } from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import { parseData } from '@slopeguard/firmware-bridge/sdi12/codec.ts';
import { withSdi12Crc } from '@slopeguard/firmware-bridge/sdi12/crc.ts';
import { LineFramer } from '@slopeguard/firmware-bridge/serial/line-framer.ts';
import { attachToPath } from '@slopeguard/simulators/devices/device.ts';
import { ModbusSlave } from '@slopeguard/simulators/devices/modbus-slave.ts';
import { sequence } from '@slopeguard/simulators/devices/signal.ts';
import { startPtyPair } from '@slopeguard/simulators/serial/socat.ts';
import type { BenchResult } from './run.ts';

function rate(name: string, fn: (i: number) => void, ms = 400): BenchResult {
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let k = 0; k < 1000; k++) fn(n++);
  }
  return { name, value: Math.round(n / ((performance.now() - t0) / 1000)), unit: 'frames/s' };
}

export async function run(): Promise<BenchResult[]> {
  const req = { unit: 1, fc: 4 as const, address: 0, count: 6 };
  const frame = encodeReadResponse(1, 4, [0, 1234, 0xffff, 0xfe0c, 215, 1205]);
  const noisy = Uint8Array.of(0xff, 0x01, 0x04, 0x00, ...frame);
  const line = encodeLine({
    type: 'R',
    node: 'n1',
    seq: 42,
    sensor: 'ext-1',
    kind: 'displacement',
    values: { mm: 12.5, temp_c: 21.3 },
  });
  const lineBytes = Uint8Array.from(line, (c) => c.charCodeAt(0));
  const framer = new LineFramer({ maxLength: 200, start: '$' });
  const sdi = withSdi12Crc('3+12.500+14.25-0.125');
  const results: BenchResult[] = [
    rate('modbus scanResponse (clean frame)', () => scanResponse(frame, req)),
    rate('modbus scanResponse (4 noise bytes first)', () => scanResponse(noisy, req)),
    rate('line framer + parseLine', () => {
      for (const l of framer.feed(lineBytes)) parseLine(l);
    }),
    rate('sdi12 parseData with CRC', () => parseData(sdi, '3', true)),
  ];

  const pair = await startPtyPair();
  const slave = new ModbusSlave([
    {
      unit: 1,
      map: await loadRegisterMap('inclinometer-generic'),
      source: sequence([{ x: 1, y: 2, temp_c: 20, supply_v: 12 }]),
    },
  ]);
  const dev = await attachToPath(slave, { path: pair.b, baudRate: 19200, parity: 'even' });
  const driver = createDriver({
    driver: 'modbus-rtu',
    port: pair.a,
    baudRate: 19200,
    sensors: [{ id: 'tilt-1', kind: 'tilt', unit: 1, model: 'inclinometer-generic', intervalMs: 50 }],
  });
  const latencies: number[] = [];
  await driver.start(() => {
    const l = driver.health().latencyMs;
    if (l !== undefined) latencies.push(l);
  });
  const t0 = performance.now();
  while (latencies.length < 40 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
  await driver.stop();
  await dev.close();
  await pair.stop();
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor(latencies.length / 2)] ?? Number.NaN;
  const p95 = latencies[Math.floor(latencies.length * 0.95)] ?? Number.NaN;
  results.push({
    name: `modbus poll over pty, 19200 baud, p50 (n=${latencies.length})`,
    value: p50,
    unit: 'ms',
  });
  results.push({ name: 'modbus poll over pty, 19200 baud, p95', value: p95, unit: 'ms' });
  return results;
}
