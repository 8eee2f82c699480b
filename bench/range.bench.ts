/**
 * `npm run bench -- range`: one sensor's 7 days at one-minute resolution (10,080 readings)
 * downsampled to 1,000 points, target <= 100 ms (issue 10), for SQLite and for InfluxDB 1.x (a
 * real influxd, started like the tests start it). Two figures per store: `Store.range` alone, and
 * the whole API request (GET /api/v1/sites/:site/sensors/:sensor/readings over loopback HTTP, signed
 * in, JSON out). The store also holds 19 other sensors' same week, so the query has to pick its
 * sensor out of 201,600 rows. Each figure is the p95 of 30 runs after 5 warm-up runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type Store, type StoredReading } from '@slopeguard/broker';
import { openInflux1Store } from '@slopeguard/broker/store/influx1.ts';
import { startControlCenter } from '@slopeguard/control-center';
import pino from 'pino';
import { Registry } from 'prom-client';
import { HAS_INFLUXD, startInfluxd } from '../broker/test/influxd.ts';
import { startMosquitto } from '../control-center/test/mosquitto.ts';
import { signIn } from '../control-center/test/sign-in.ts';
import type { BenchResult } from './run.ts';

const MIN = 60_000;
const DAYS = 7;
const SENSORS = 20;
const POINTS = 1000;
const WARMUP = 5;
const RUNS = 30;
const TARGET_MS = 100;
const progress = (msg: string) => process.stderr.write(`  [range bench] ${msg}\n`);

const TO = Math.floor(Date.now() / MIN) * MIN - MIN;
const FROM = TO - DAYS * 1440 * MIN + MIN;

function* week(sensor: string): Generator<StoredReading> {
  for (let ts = FROM, i = 0; ts <= TO; ts += MIN, i++)
    yield {
      site: 'bench-site',
      gateway: 'gw-1',
      sensor,
      kind: 'tilt',
      ts,
      values: { x: Math.sin(i / 500) + 0.01 * (i % 7), y: Math.cos(i / 700), temp_c: 10 + (i % 1440) / 144 },
    };
}

async function fill(store: Store): Promise<void> {
  for (let s = 0; s < SENSORS; s++) {
    const batch = [...week(`tilt-${s}`)];
    for (let i = 0; i < batch.length; i += 5000) await store.write(batch.slice(i, i + 5000));
  }
}

function p95(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] as number;
}

async function timed(fn: () => Promise<number>): Promise<number> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const buckets = await fn();
    ms.push(performance.now() - t0);
    // 10,080 readings into 1,000 buckets of 10,081 ms: about one bucket in 1.008 is empty.
    if (buckets < 900 || buckets > POINTS) throw new Error(`expected ~1,000 buckets, got ${buckets}`);
  }
  return p95(ms);
}

async function measure(name: string, store: Store): Promise<BenchResult[]> {
  progress(`${name}: writing ${SENSORS} sensors x ${DAYS} days at 1 min`);
  await fill(store);
  const q = { site: 'bench-site', sensor: 'tilt-7', from: FROM, to: TO, points: POINTS };
  const storeMs = await timed(async () => (await store.range(q)).length);
  const broker = await startMosquitto();
  const center = await startControlCenter({
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { url: broker.url },
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    store,
    webRoot: '/nonexistent',
  });
  try {
    const viewer = await signIn(center, 'viewer');
    const path = `api/v1/sites/bench-site/sensors/tilt-7/readings?from=${FROM}&to=${TO}&points=${POINTS}`;
    const apiMs = await timed(async () => {
      const res = await viewer.fetch(path);
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { buckets: unknown[] }).buckets.length;
    });
    const target = `<= ${TARGET_MS}`;
    return [
      {
        name: `${name}: Store.range, 7 d -> 1,000 points (p95)`,
        value: storeMs,
        unit: 'ms',
        target,
        pass: storeMs <= TARGET_MS,
      },
      {
        name: `${name}: API request, 7 d -> 1,000 points (p95)`,
        value: apiMs,
        unit: 'ms',
        target,
        pass: apiMs <= TARGET_MS,
      },
    ];
  } finally {
    await center.close();
    await broker.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-range-'));
  const out: BenchResult[] = [];
  try {
    const sqlite = openSqliteStore(join(dir, 'readings.sqlite'));
    try {
      out.push(...(await measure('SQLite', sqlite)));
    } finally {
      await sqlite.close();
    }
    if (!HAS_INFLUXD) throw new Error('influxd missing: install the Debian package `influxdb`');
    const influxd = await startInfluxd(join(dir, 'influxd'));
    try {
      const influx = await openInflux1Store({ url: influxd.url, database: 'bench_range' });
      try {
        out.push(...(await measure('InfluxDB 1.x', influx)));
      } finally {
        await influx.close();
      }
    } finally {
      await influxd.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
