/**
 * The walking skeleton under a fixed simulated load (issue 2): readings per second from MQTT publish
 * to stored in SQLite, and publish-to-browser latency through the control center's socket.io.
 * Everything runs in this process except nothing: the broker, recorder, control center and load
 * generator share one Node process and this machine's two cores, so the figures are conservative.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  READINGS_EVENT,
  SITE_EVENT,
  type SiteReadings,
  WATCH_EVENT,
} from '@slopeguard/control-center/realtime-wire.ts';
import { signInTo } from '@slopeguard/control-center/sign-in-client.ts';
import { gatewayTopic, type Reading } from '@slopeguard/core';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { io } from 'socket.io-client';
import { startDemoStack } from '../cli/demo/stack.ts';
import type { BenchResult } from './run.ts';

const GATEWAYS = 50;
const READINGS_PER_MESSAGE = 10;
const THROUGHPUT_MESSAGES_PER_GATEWAY = 200;
const WINDOW = 8; // QoS 1 messages in flight per gateway
const LATENCY_RATE = 500; // messages per second, spread over all gateways
const LATENCY_SECONDS = 8;

function readings(ts: number, gw: number, n: number): Reading[] {
  const out: Reading[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      sensor: `tilt-${gw}-${i}`,
      kind: 'tilt',
      ts,
      values: { x: Math.sin(ts + i), y: Math.cos(ts + i) },
    });
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-'));
  const stack = await startDemoStack({
    host: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    dataDir: dir,
    sites: 1,
    intervalMs: 0,
    logger: pino({ level: 'silent' }),
  });
  const clients: MqttClient[] = [];
  try {
    for (let g = 0; g < GATEWAYS; g++) {
      const username = `bench-site.gw-${g}`;
      const password = stack.registry.addDevice('bench-site', `gw-${g}`, { replace: true });
      clients.push(
        await mqtt.connectAsync(stack.mqttUrl, {
          clientId: username,
          username,
          password,
          reconnectPeriod: 0,
        }),
      );
    }
    const seq = new Array<number>(GATEWAYS).fill(0);
    const publish = (g: number, ts: number) => {
      const client = clients[g] as MqttClient;
      const n = seq[g] ?? 0;
      seq[g] = n + 1;
      const payload = JSON.stringify({ seq: n, readings: readings(ts, g, READINGS_PER_MESSAGE) });
      return client.publishAsync(gatewayTopic('bench-site', `gw-${g}`, 'telemetry'), payload, { qos: 1 });
    };

    // Throughput: every gateway keeps WINDOW messages in flight until it has sent its share.
    const before = await stack.store.count();
    const base = Date.now() - 86_400_000;
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (_c, g) => {
        let sent = 0;
        const lane = async () => {
          while (sent < THROUGHPUT_MESSAGES_PER_GATEWAY) {
            sent++;
            // Distinct timestamps per sensor: the store is idempotent on (site, sensor, ts).
            await publish(g, base + sent);
          }
        };
        await Promise.all(Array.from({ length: WINDOW }, lane));
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const stored = (await stack.store.count()) - before;
    const expected = GATEWAYS * THROUGHPUT_MESSAGES_PER_GATEWAY * READINGS_PER_MESSAGE;

    // Latency: a steady rate well under capacity, timed from publish to the socket.io client.
    const { cookie } = await signInTo(stack.dashboardUrl, stack.admin.username, stack.admin.password);
    const socket = io(stack.dashboardUrl, { transports: ['websocket'], extraHeaders: { cookie } });
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    // As a browser with the site's page open: every reading of the site, batched once a second.
    const watching = new Promise<void>((resolve) => socket.once(SITE_EVENT, () => resolve()));
    socket.emit(WATCH_EVENT, 'bench-site');
    await watching;
    const latencies: number[] = [];
    const total = LATENCY_RATE * LATENCY_SECONDS;
    const start = Date.now();
    socket.on(READINGS_EVENT, (r: SiteReadings) => {
      const at = Date.now();
      for (const m of r.messages) {
        const ts = m.readings[0]?.ts;
        // The control center may still be relaying the throughput phase; time only this phase.
        if (ts !== undefined && ts >= start) latencies.push(at - ts);
      }
    });
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / LATENCY_RATE;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      publish(i % GATEWAYS, Date.now()).catch(() => undefined);
    }
    const until = Date.now() + 10_000;
    while (latencies.length < total && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    socket.close();
    latencies.sort((a, b) => a - b);

    return [
      {
        name: 'publish -> stored (SQLite), readings/s',
        value: Math.round(stored / seconds),
        unit: 'readings/s',
      },
      {
        name: 'readings stored / published',
        value: stored,
        unit: `of ${expected}`,
        pass: stored === expected,
      },
      {
        name: `publish -> socket.io p50 at ${LATENCY_RATE * READINGS_PER_MESSAGE} readings/s`,
        value: percentile(latencies, 50),
        unit: 'ms',
      },
      {
        name: `publish -> socket.io p99 at ${LATENCY_RATE * READINGS_PER_MESSAGE} readings/s`,
        value: percentile(latencies, 99),
        unit: 'ms',
      },
      {
        name: 'messages delivered to socket.io',
        value: latencies.length,
        unit: `of ${total}`,
        pass: latencies.length === total,
      },
    ];
  } finally {
    await Promise.all(clients.map((c) => c.endAsync()));
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
