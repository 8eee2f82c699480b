/**
 * Gateway benchmarks (issue "Gateway", Performance):
 *  1. steady: 16 sensors at 1 Hz, the gateway as a child process started as its systemd unit starts
 *     it (the bundle, built first, with the unit's flags: see spawnEdge), RSS and CPU of that process
 *     from /proc/<pid>/status and /proc/<pid>/stat. EDGE_BENCH_SECONDS (default 60; the
 *     issue asks for 600) sets the duration.
 *  2. drain: 1,000,000 readings queued before start, drained to the project's broker (Aedes +
 *     recorder + SQLite store) while 16 live sensors at 1 Hz keep arriving; drain rate and the live
 *     readings' latency (arrival at the broker minus reading timestamp) at p99; the gateway's peak
 *     RSS meanwhile.
 *  EDGE_BENCH_BACKLOG overrides the backlog size (default 1,000,000); EDGE_BENCH_RATE the gateway's
 *  backlogRatePerS (default 20,000).
 * Loopback only; everything in a temp dir that is removed afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, startBroker } from '@slopeguard/broker';
import { parseTopic, type Reading } from '@slopeguard/core';
import { ReadingQueue } from '@slopeguard/edge/queue/queue.ts';
import pino from 'pino';
import { stringify } from 'yaml';
import { buildGateway } from '../deploy/build-gateway.ts';
import { gatewayCommand, ROOT } from '../deploy/unit-file.ts';
import type { BenchResult } from './run.ts';

const CLK_TCK = 100; // USER_HZ on Linux
const SENSORS = 16;

function sensors(prefix: string) {
  return Array.from({ length: SENSORS }, (_, i) => ({
    id: `${prefix}-${i}`,
    kind: 'tilt',
    intervalMs: 1000,
    values: { x: { base: 0.1, amplitude: 0.01, periodS: 600 }, y: { base: -0.2 } },
  }));
}

function gatewayConfig(dir: string, port: number, overrides: object = {}) {
  const file = join(dir, 'gateway.yaml');
  writeFileSync(
    file,
    stringify({
      site: 'bench-site',
      gateway: 'gw-bench',
      dataDir: join(dir, 'data'),
      uplink: { url: `mqtt://127.0.0.1:${port}`, ...overrides },
      drivers: [{ driver: 'synthetic', id: 'syn', sensors: sensors('live') }],
      log: { level: 'warn' },
    }),
  );
  return file;
}

/**
 * The gateway exactly as deploy/systemd/slopeguard-edge.service starts it: the prebuilt bundle, the
 * unit's Node flags and environment. EDGE_BENCH_NODE_FLAGS (space-separated) replaces the unit's
 * Node flags, to compare settings.
 */
function spawnEdge(config: string): ChildProcess {
  const unit = gatewayCommand(config);
  const override = process.env.EDGE_BENCH_NODE_FLAGS;
  let args = unit.args;
  if (override !== undefined) {
    const script = args.findIndex((a) => !a.startsWith('-'));
    args = [...override.split(' ').filter(Boolean), ...args.slice(script)];
  }
  console.error(`  gateway: ${unit.command} ${args.join(' ')}`);
  return spawn(unit.command, args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...unit.env, SLOPEGUARD_MQTT_PASSWORD: '' },
  });
}

async function stopEdge(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

/**
 * utime + stime in seconds, VmRSS and RssAnon in bytes of a live process. RssAnon leaves out the
 * file-backed pages (mostly the 120 MB node binary's code), which are shared and reclaimable.
 */
function sample(pid: number): { cpuS: number; rss: number; anon: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // fields 14 and 15 of stat(5)
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return { cpuS, rss: kb('VmRSS'), anon: kb('RssAnon') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function steady(seconds: number): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-edge-'));
  const store = openSqliteStore(join(dir, 'store.db'), { synchronous: 'normal' });
  const broker = await startBroker({
    mqtt: { host: '127.0.0.1', port: 0 },
    store,
    allowAnonymous: true,
    logger: pino({ level: 'silent' }),
  });
  const child = spawnEdge(gatewayConfig(dir, broker.port));
  try {
    const warmup = Math.min(10, Math.max(2, seconds / 10));
    await sleep(warmup * 1000);
    const pid = child.pid as number;
    const first = sample(pid);
    const t0 = performance.now();
    const rss: number[] = [first.rss];
    const anon: number[] = [first.anon];
    const step = Math.max(1, Math.min(10, seconds / 20));
    for (let elapsed = 0; elapsed < seconds; elapsed += step) {
      await sleep(step * 1000);
      const now = sample(pid);
      rss.push(now.rss);
      anon.push(now.anon);
    }
    const last = sample(pid);
    const wall = (performance.now() - t0) / 1000;
    const cpuPct = ((last.cpuS - first.cpuS) / wall) * 100;
    const maxRss = Math.max(...rss) / 2 ** 20;
    const maxAnon = Math.max(...anon) / 2 ** 20;
    const quarter = rss[Math.floor(rss.length / 4)] as number;
    const growth = ((rss.at(-1) as number) - quarter) / 2 ** 20;
    const stored = await store.count();
    return [
      {
        name: `steady: duration measured (s)`,
        value: Math.round(wall),
        unit: 's',
        target: '600 (EDGE_BENCH_SECONDS=600)',
      },
      {
        name: 'steady: 16 sensors @1 Hz, edge VmRSS max',
        value: maxRss,
        unit: 'MB',
        target: '<= 80',
        pass: maxRss <= 80,
      },
      { name: 'steady: edge RssAnon max (private memory)', value: maxAnon, unit: 'MB' },
      {
        name: 'steady: edge CPU (mean, one core)',
        value: cpuPct,
        unit: '%',
        target: '<= 3',
        pass: cpuPct <= 3,
      },
      { name: 'steady: RSS change, 1st quarter -> end', value: growth, unit: 'MB' },
      { name: 'steady: readings stored by the broker', value: stored, unit: 'readings' },
    ];
  } finally {
    await stopEdge(child);
    await broker.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `n` backlog readings (16 sensors, 1 Hz, ending an hour ago) straight into a gateway queue. */
function prefill(path: string, n: number): void {
  const q = new ReadingQueue({
    path,
    synchronous: 'NORMAL',
    maxReadings: 100_000_000,
    minFreeMb: 0,
    policy: 'drop-oldest',
  });
  const start = Date.now() - 3_600_000 - Math.ceil(n / SENSORS) * 1000;
  for (let i = 0; i < n; i++) {
    const r: Reading = {
      sensor: `backlog-${i % SENSORS}`,
      kind: 'tilt',
      ts: start + Math.floor(i / SENSORS) * 1000,
      values: { x: 0.1 + (i % 7) * 0.001, y: -0.2 },
    };
    q.append(r);
    if (i % 100_000 === 99_999) q.commit();
  }
  q.commit();
  q.close();
}

async function drain(backlog: number): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-drain-'));
  const t0 = performance.now();
  prefill(join(dir, 'data', 'queue.db'), backlog);
  const prefillS = (performance.now() - t0) / 1000;
  const store = openSqliteStore(join(dir, 'store.db'), { synchronous: 'normal' });
  const broker = await startBroker({
    mqtt: { host: '127.0.0.1', port: 0 },
    store,
    allowAnonymous: true,
    logger: pino({ level: 'silent' }),
  });
  const latencies: number[] = [];
  let backlogSeen = 0;
  let firstBacklogAt = 0;
  let lastBacklogAt = 0;
  broker.aedes.on('publish', (packet) => {
    const t = parseTopic(packet.topic);
    if (t?.scope !== 'gateway' || t.channel !== 'telemetry') return;
    const now = Date.now();
    const body = JSON.parse(packet.payload.toString()) as { readings: Reading[] };
    for (const r of body.readings) {
      if (r.sensor.startsWith('live-')) latencies.push(now - r.ts);
      else {
        backlogSeen++;
        if (firstBacklogAt === 0) firstBacklogAt = performance.now();
        lastBacklogAt = performance.now();
      }
    }
  });
  const bound = Number(process.env.EDGE_BENCH_RATE ?? 20_000);
  const config = gatewayConfig(dir, broker.port, {
    backlogRatePerS: bound,
    batchMaxReadings: 1000,
    maxInflight: 8,
  });
  const child = spawnEdge(config);
  try {
    const deadline = performance.now() + 600_000;
    let drainRss = 0;
    while (backlogSeen < backlog && performance.now() < deadline) {
      await sleep(200);
      if (child.exitCode === null) drainRss = Math.max(drainRss, sample(child.pid as number).rss);
    }
    await sleep(2000); // a few more live readings after the drain
    const drainS = (lastBacklogAt - firstBacklogAt) / 1000;
    const rate = backlogSeen / Math.max(drainS, 0.001);
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? Number.NaN;
    const p50 = latencies[Math.floor(latencies.length * 0.5)] ?? Number.NaN;
    const stored = await store.count({ site: 'bench-site' });
    return [
      { name: `drain: backlog queued before start`, value: backlog, unit: 'readings', target: '1000000' },
      { name: 'drain: configured bound (uplink.backlogRatePerS)', value: bound, unit: 'readings/s' },
      { name: 'drain: prefill time (not measured below)', value: prefillS, unit: 's' },
      { name: 'drain: backlog received by the broker', value: backlogSeen, unit: 'readings' },
      {
        name: 'drain: backlog drain rate',
        value: Math.round(rate),
        unit: 'readings/s',
        target: '>= 10000',
        pass: rate >= 10_000,
      },
      { name: 'drain: live latency p50 during drain', value: p50 / 1000, unit: 's' },
      {
        name: 'drain: live latency p99 during drain',
        value: p99 / 1000,
        unit: 's',
        target: '<= 2',
        pass: p99 <= 2000,
      },
      { name: 'drain: live readings measured', value: latencies.length, unit: 'readings' },
      { name: 'drain: edge VmRSS max during the drain', value: drainRss / 2 ** 20, unit: 'MB' },
      { name: 'drain: rows in the broker store', value: stored, unit: 'readings' },
    ];
  } finally {
    await stopEdge(child);
    await broker.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  await buildGateway();
  const seconds = Number(process.env.EDGE_BENCH_SECONDS ?? 60);
  const backlog = Number(process.env.EDGE_BENCH_BACKLOG ?? 1_000_000);
  return [...(await steady(seconds)), ...(await drain(backlog))];
}
