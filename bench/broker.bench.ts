/**
 * `npm run bench -- broker`: the broker and recorder under the load (1,000 gateways,
 * 10 readings per message, QoS 1), on loopback. Four runs of RUN_MS each, after a warm-up:
 *   1. into SQLite,  2. into InfluxDB 1.x (a real influxd, if installed),
 *   3. the broker alone (a store that only counts), 4. Mosquitto (Debian) on the same load;
 * before them, 0. the SQLite store path without MQTT (storePath below).
 * The load generator runs in SG_BENCH_LOAD_WORKERS worker threads (default: the cores, at most 4),
 * the gateways split between them and started together; each gateway keeps one message in flight
 * (publish, wait for PUBACK, next), so the rate is what the system sustains. Latency is
 * PUBLISH to PUBACK at the gateway, which for runs 1-2 is publish-to-durable (the broker sends
 * PUBACK only after the readings are committed). Gateways connect anonymously (test mode): an
 * scrypt check per account would make connecting 1,000 accounts take about a minute; it costs
 * nothing per message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { connectLean } from './lean-mqtt.ts';
import type { BenchResult } from './run.ts';

const GATEWAYS = 1000;
const PER_MESSAGE = 10;
const WARMUP_MS = Number(process.env.SG_BENCH_WARMUP_MS ?? 3000);
const RUN_MS = Number(process.env.SG_BENCH_RUN_MS ?? 10_000);
/** Comma-separated subset of store,sqlite,influx,alone,mosquitto (default: all). */
const ONLY = new Set((process.env.SG_BENCH_BROKER ?? 'store,sqlite,influx,alone,mosquitto').split(','));
/** Readings the store-path run measures (after as many again as warm-up). */
const STORE_PATH_READINGS = Number(process.env.SG_BENCH_STORE_READINGS ?? 600_000);
const progress = (msg: string) => process.stderr.write(`  [broker bench] ${msg}\n`);

interface LoadConfig {
  port: number;
  /** This worker's gateways: ids first .. first + gateways - 1. */
  first: number;
  gateways: number;
  perMessage: number;
  warmupMs: number;
  runMs: number;
}
interface LoadResult {
  messages: number;
  readings: number;
  seconds: number;
  p50: number;
  p99: number;
  failed: number;
  /** CPU time (ms) of the process minus the load generator's threads in the measured window. */
  brokerCpuMs: number;
  /** CPU time (ms) of the broker's own thread (this process's main thread) in the measured window. */
  mainCpuMs: number;
  /** CPU time (ms) of the load generator's threads in the measured window. */
  generatorCpuMs: number;
}
/** One worker's share: its latencies (ms) in the measured window, and that window's last PUBACK. */
interface WorkerResult {
  latencies: Float64Array;
  measuredAt: number;
  failed: number;
  /** This thread's CPU time (ms) in the measured window. */
  cpuMs: number;
}
type ToWorker = { go: number };
type FromWorker = { ready: true } | { ok: true; result: WorkerResult } | { ok: false; error: string };

/** Load-generator workers (threads, each with its own event loop). Default: the cores, at most 4. */
const WORKERS = Math.max(1, Number(process.env.SG_BENCH_LOAD_WORKERS ?? Math.min(4, availableParallelism())));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Wall-clock milliseconds, comparable between worker threads (each has its own performance.now()). */
const wallNow = () => performance.timeOrigin + performance.now();

/**
 * Worker side: a share of the gateways. Connects them, says `ready`, and starts publishing at the
 * common `go` time the main thread sends, so that every worker measures the same window.
 */
async function loadGenerator(cfg: LoadConfig, go: Promise<number>, ready: () => void): Promise<WorkerResult> {
  const clients = await connectClients(cfg);
  ready();
  const t0 = await go;
  const latencies: number[] = [];
  let failed = 0;
  const measureFrom = t0 + cfg.warmupMs;
  const end = measureFrom + cfg.runMs;
  let measuredAt = 0;
  const cpu = cpuWindow(process.threadCpuUsage, measureFrom, end);
  // Each gateway: publish, and on its PUBACK the next one. Callbacks and one watchdog per thread
  // rather than a promise and a 30 s timer per message: the generator's CPU shares the broker's
  // cores, so what it spends per message lowers every run's figure.
  const inFlight = new Map<number, { sent: number; next: () => void }>();
  let running = clients.length;
  const finished = new Promise<void>((resolve) => {
    if (running === 0) resolve();
    clients.forEach((c, i) => {
      const g = cfg.first + i;
      const topic = `slopeguard/v1/bench/g${g}/telemetry`;
      let seq = 0;
      const start = Date.now();
      const publishNext = (): void => {
        const sent = wallNow();
        if (sent >= end) {
          if (--running === 0) resolve();
          return;
        }
        const ts = start + seq; // unique per sensor: each gateway has its own sensors
        let readings = '';
        for (let k = 0; k < cfg.perMessage; k++) {
          readings += `${k === 0 ? '' : ','}{"sensor":"g${g}-s${k}","kind":"tilt","ts":${ts},"values":{"x":${(seq % 100) / 100},"y":0.5}}`;
        }
        const payload = `{"seq":${seq++},"readings":[${readings}]}`;
        const mine = { sent, next: publishNext };
        inFlight.set(i, mine);
        c.publish(topic, payload, (err?: Error) => {
          // A PUBACK after the watchdog gave up on this message is not counted again.
          if (inFlight.get(i) !== mine) return;
          inFlight.delete(i);
          if (err) failed++;
          else {
            const now = wallNow();
            if (sent >= measureFrom && now <= end) {
              latencies.push(now - sent);
              measuredAt = Math.max(measuredAt, now);
            }
          }
          publishNext();
        });
      };
      // Spread the start so that 1,000 first publishes do not land in the same millisecond.
      setTimeout(publishNext, (g * 7) % 500);
    });
  });
  // Bounded: a PUBACK that never comes is a failure to report, not a hang.
  const watchdog = setInterval(() => {
    const now = wallNow();
    for (const [i, m] of inFlight) {
      if (now - m.sent < 30_000) continue;
      inFlight.delete(i);
      failed++;
      m.next();
    }
  }, 1000);
  await finished;
  clearInterval(watchdog);
  await Promise.all(clients.map((c) => c.end()));
  return { latencies: Float64Array.from(latencies), measuredAt, failed, cpuMs: await cpu };
}

/** What the generator needs of a client: QoS 1 publishes with a callback on PUBACK. */
interface BenchClient {
  publish(topic: string, payload: string, onAck: (err?: Error) => void): void;
  end(): Promise<void>;
}

/**
 * Which client the generator uses (SG_BENCH_CLIENT): `lean` (default), bench/lean-mqtt.ts, or
 * `mqttjs`, MQTT.js as the gateways use it. The lean one costs the shared cores less per message.
 */
const CLIENT = process.env.SG_BENCH_CLIENT ?? 'lean';

/** This worker's gateways, connected 50 at a time. */
async function connectClients(cfg: LoadConfig): Promise<BenchClient[]> {
  const connectOne = async (clientId: string): Promise<BenchClient> => {
    if (CLIENT !== 'mqttjs') return connectLean({ host: '127.0.0.1', port: cfg.port, clientId });
    const { default: mqtt } = await import('mqtt');
    const c: MqttClient = await mqtt.connectAsync({
      host: '127.0.0.1',
      port: cfg.port,
      clientId,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
    });
    return {
      publish: (topic, payload, onAck) => c.publish(topic, payload, { qos: 1 }, onAck),
      end: () => c.endAsync(true),
    };
  };
  const clients: BenchClient[] = [];
  for (let i = 0; i < cfg.gateways; i += 50) {
    const batch = Array.from({ length: Math.min(50, cfg.gateways - i) }, (_, k) =>
      connectOne(`bench.g${cfg.first + i + k}`),
    );
    clients.push(...(await Promise.all(batch)));
  }
  return clients;
}

/**
 * CPU time (ms) used between two wall-clock times, by `usage` (this thread, or the whole process).
 * Under load from other work the rates fall, but CPU per reading stays a property of the code.
 */
function cpuWindow(usage: () => NodeJS.CpuUsage, from: number, to: number): Promise<number> {
  return new Promise((resolve) => {
    let start: NodeJS.CpuUsage | undefined;
    setTimeout(() => {
      start = usage();
    }, from - wallNow());
    setTimeout(() => {
      const d = usage();
      resolve(start ? (d.user - start.user + d.system - start.system) / 1000 : Number.NaN);
    }, to - wallNow());
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  const go = new Promise<number>((resolve) => port.once('message', (m: ToWorker) => resolve(m.go)));
  loadGenerator(workerData as LoadConfig, go, () =>
    port.postMessage({ ready: true } satisfies FromWorker),
  ).then(
    (result) => port.postMessage({ ok: true, result } satisfies FromWorker),
    (err: Error) => port.postMessage({ ok: false, error: err.stack ?? err.message } satisfies FromWorker),
  );
}

/**
 * The gateways split over WORKERS threads, so that the MQTT.js client work (parsing, promises,
 * timers for 1,000 connections) is not one core's limit: the figure then measures the broker.
 */
async function runLoad(port: number): Promise<LoadResult> {
  const share = Math.ceil(GATEWAYS / WORKERS);
  const workers = Array.from({ length: WORKERS }, (_, w) => {
    const first = w * share;
    const cfg: LoadConfig = {
      port,
      first,
      gateways: Math.max(0, Math.min(share, GATEWAYS - first)),
      perMessage: PER_MESSAGE,
      warmupMs: WARMUP_MS,
      runMs: RUN_MS,
    };
    const worker = new Worker(new URL(import.meta.url), { workerData: cfg });
    const messages: FromWorker[] = [];
    const waiters: (() => void)[] = [];
    worker.on('message', (m: FromWorker) => {
      messages.push(m);
      for (const w of waiters.splice(0)) w();
    });
    const next = async (): Promise<FromWorker> => {
      while (messages.length === 0) await new Promise<void>((r) => waiters.push(r));
      return messages.shift() as FromWorker;
    };
    return { worker, next };
  });
  try {
    for (const w of workers) {
      const m = await w.next();
      if (!('ready' in m)) throw new Error(`load generator failed: ${'error' in m ? m.error : '?'}`);
    }
    progress(`load generator: ${GATEWAYS} gateways connected over ${WORKERS} worker thread(s)`);
    const go = wallNow() + 100;
    for (const w of workers) w.worker.postMessage({ go } satisfies ToWorker);
    // The whole process (broker, its store threads, and the generator's threads) in the window.
    const processCpu = cpuWindow(() => process.cpuUsage(), go + WARMUP_MS, go + WARMUP_MS + RUN_MS);
    const mainCpu = cpuWindow(() => process.threadCpuUsage(), go + WARMUP_MS, go + WARMUP_MS + RUN_MS);
    const parts: WorkerResult[] = [];
    for (const w of workers) {
      const m = await w.next();
      if (!('ok' in m) || !m.ok) throw new Error(`load generator failed: ${'error' in m ? m.error : '?'}`);
      parts.push(m.result);
    }
    const all = new Float64Array(parts.reduce((n, p) => n + p.latencies.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p.latencies, at);
      at += p.latencies.length;
    }
    all.sort();
    const measureFrom = go + WARMUP_MS;
    const measuredAt = Math.max(...parts.map((p) => p.measuredAt));
    const seconds = Math.max(0.001, (Math.min(measuredAt, measureFrom + RUN_MS) - measureFrom) / 1000);
    const failed = parts.reduce((n, p) => n + p.failed, 0);
    progress(`load generator: done, ${all.length} messages measured, ${failed} failed`);
    const generatorCpuMs = parts.reduce((n, p) => n + p.cpuMs, 0);
    return {
      messages: all.length,
      readings: all.length * PER_MESSAGE,
      seconds,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
      failed,
      brokerCpuMs: (await processCpu) - generatorCpuMs,
      mainCpuMs: await mainCpu,
      generatorCpuMs,
    };
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startInfluxd(dir: string): Promise<{ url: string; proc: ChildProcess }> {
  const http = await freePort();
  const rpc = await freePort();
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'influxdb.conf');
  writeFileSync(
    conf,
    `reporting-disabled = true\nbind-address = "127.0.0.1:${rpc}"\n[meta]\n  dir = "${dir}/meta"\n[data]\n  dir = "${dir}/data"\n  wal-dir = "${dir}/wal"\n  query-log-enabled = false\n[http]\n  bind-address = "127.0.0.1:${http}"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n[continuous_queries]\n  enabled = false\n`,
  );
  const proc = spawn('/usr/bin/influxd', ['-config', conf], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${http}`;
  for (let i = 0; i < 300; i++) {
    if (
      await fetch(`${url}/ping`).then(
        (r) => r.status === 204,
        () => false,
      )
    )
      return { url, proc };
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error('influxd did not start');
}

async function stopProc(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  await exited;
}

function results(label: string, r: LoadResult, target?: { readings: number; p99Ms: number }): BenchResult[] {
  const rate = Math.round(r.readings / r.seconds);
  const out: BenchResult[] = [
    {
      name: `${label}: readings/s`,
      value: rate,
      unit: 'readings/s',
      ...(target ? { target: `>= ${target.readings}`, pass: rate >= target.readings } : {}),
    },
    { name: `${label}: messages/s`, value: Math.round(r.messages / r.seconds), unit: 'msg/s' },
    { name: `${label}: p50 publish-to-PUBACK`, value: r.p50, unit: 'ms' },
    {
      name: `${label}: p99 publish-to-PUBACK`,
      value: r.p99,
      unit: 'ms',
      ...(target ? { target: `<= ${target.p99Ms}`, pass: r.p99 <= target.p99Ms } : {}),
    },
  ];
  // CPU per 1,000 readings acknowledged: comparable between runs on a loaded machine. The CPU is
  // taken over RUN_MS, the readings over `seconds` (to the last PUBACK in the window).
  const readingsInCpuWindow = (r.readings / r.seconds) * (RUN_MS / 1000);
  const perThousand = (ms: number) => Number(((ms * 1000) / readingsInCpuWindow).toFixed(2));
  // Mosquitto is another process: this process's CPU minus the generator's is not its CPU.
  if (label !== 'Mosquitto') {
    out.push({
      name: `${label}: broker CPU per 1,000 readings`,
      value: perThousand(r.brokerCpuMs),
      unit: 'ms',
    });
    // The broker's event loop (MQTT, hooks, recorder); the rest is its store's threads (the SQLite
    // writer, InfluxDB's HTTP client shares this thread) and V8's helpers.
    out.push({
      name: `${label}: broker main thread CPU per 1,000 readings`,
      value: perThousand(r.mainCpuMs),
      unit: 'ms',
    });
  }
  out.push(
    {
      name: `${label}: load-generator CPU per 1,000 readings`,
      value: perThousand(r.generatorCpuMs),
      unit: 'ms',
    },
    {
      name: `${label}: load average (1 min) at the end`,
      value: Number((loadavg()[0] ?? 0).toFixed(1)),
      unit: '',
    },
  );
  if (r.failed > 0) out.push({ name: `${label}: failed publishes`, value: r.failed, unit: '' });
  return out;
}

/**
 * The SQLite store path without MQTT: the recorder and the threaded SQLite store, fed as the
 * broker feeds them under the MQTT load (1,000 gateways, 10 readings per message, one message in
 * flight each, the next submitted when the previous one is durable). It separates what the store
 * costs (main thread: recorder and the copy to the writer; writer thread: the SQL, the commit) from
 * the MQTT work, and gives the rate the store path alone sustains: the SQLite run cannot exceed it.
 * Writer CPU is the process's minus the main thread's, so it includes V8's helper threads.
 */
async function storePath(dir: string): Promise<BenchResult[]> {
  const { createRecorder } = await import('@slopeguard/broker/recorder.ts');
  const { createBrokerMetrics } = await import('@slopeguard/broker/metrics.ts');
  const { openThreadedSqliteStore } = await import('@slopeguard/broker/store/sqlite-thread.ts');
  const { Registry } = await import('prom-client');
  const store = openThreadedSqliteStore(join(dir, 'store-path.sqlite'));
  const recorder = createRecorder({
    store,
    metrics: createBrokerMetrics(new Registry()),
    logger: pino({ level: 'silent' }),
  });
  const warm = STORE_PATH_READINGS;
  const stopAt = warm + STORE_PATH_READINGS;
  let acknowledged = 0;
  let from: { thread: NodeJS.CpuUsage; process: NodeJS.CpuUsage; wall: number } | undefined;
  const latencies: number[] = [];
  const base = Date.now() - 86_400_000;
  await new Promise<void>((finish) => {
    let running = GATEWAYS;
    for (let g = 0; g < GATEWAYS; g++) {
      let seq = 0;
      const next = (): void => {
        if (acknowledged >= stopAt) {
          if (--running === 0) finish();
          return;
        }
        const readings = Array.from({ length: PER_MESSAGE }, (_, k) => ({
          site: 'bench',
          gateway: `g${g}`,
          sensor: `g${g}-s${k}`,
          kind: 'tilt' as const,
          ts: base + seq,
          values: { x: (seq % 100) / 100, y: 0.5 },
        }));
        seq++;
        const sent = performance.now();
        void recorder.submit(readings, sent).then(() => {
          acknowledged += PER_MESSAGE;
          if (from) latencies.push(performance.now() - sent);
          else if (acknowledged >= warm) {
            from = { thread: process.threadCpuUsage(), process: process.cpuUsage(), wall: performance.now() };
          }
          next();
        });
      };
      next();
    }
  });
  const wall = performance.now() - (from?.wall ?? 0);
  const thread = process.threadCpuUsage(from?.thread);
  const all = process.cpuUsage(from?.process);
  await recorder.close();
  await store.close();
  const measured = acknowledged - warm;
  const perThousand = (us: number) => Number((us / 1000 / (measured / 1000)).toFixed(2));
  const mainCpu = thread.user + thread.system;
  const sorted = Float64Array.from(latencies).sort();
  return [
    {
      name: 'SQLite store path: readings/s',
      value: Math.round(measured / (wall / 1000)),
      unit: 'readings/s',
    },
    { name: 'SQLite store path: p99 submit-to-durable', value: percentile(sorted, 99), unit: 'ms' },
    { name: 'SQLite store path: main-thread CPU per 1,000', value: perThousand(mainCpu), unit: 'ms' },
    {
      name: 'SQLite store path: writer CPU per 1,000',
      value: perThousand(all.user + all.system - mainCpu),
      unit: 'ms',
    },
    {
      name: 'SQLite store path: load average (1 min)',
      value: Number((loadavg()[0] ?? 0).toFixed(1)),
      unit: '',
    },
  ];
}

/** SG_BENCH_SQLITE_WRITES_PER_MERGE: the store's merge cadence, to compare (default: the store's). */
function sqliteTuning(): { writesPerMerge?: number } {
  const w = process.env.SG_BENCH_SQLITE_WRITES_PER_MERGE;
  return w ? { writesPerMerge: Number(w) } : {};
}

export async function run(): Promise<BenchResult[]> {
  const { openSqliteStore, startBroker } = await import('@slopeguard/broker');
  const { openInflux1Store } = await import('@slopeguard/broker/store/influx1.ts');
  const { openThreadedSqliteStore } = await import('@slopeguard/broker/store/sqlite-thread.ts');
  const logger = pino({ level: process.env.SG_BENCH_LOG ?? 'silent' }, pino.destination(2));
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-broker-'));
  const out: BenchResult[] = [];
  let aloneRate = 0;
  try {
    // 0. The SQLite store path alone (no MQTT).
    if (ONLY.has('store')) {
      progress('SQLite store-path run');
      out.push(...(await storePath(dir)));
    }
    // 1. SQLite
    if (ONLY.has('sqlite')) {
      progress('SQLite run');
      // Writes in a worker thread (broker/src/store/sqlite-thread.ts), as `slopeguard server` runs
      // it; SG_BENCH_SQLITE_THREAD=0 measures the store on the broker's thread instead.
      const store =
        process.env.SG_BENCH_SQLITE_THREAD === '0'
          ? openSqliteStore(join(dir, 'readings.sqlite'), sqliteTuning())
          : openThreadedSqliteStore(join(dir, 'readings.sqlite'), sqliteTuning());
      const broker = await startBroker({
        mqtt: { host: '127.0.0.1', port: 0 },
        store,
        logger,
        allowAnonymous: true,
        recorder: {
          maxDelayMs: Number(process.env.SG_BENCH_SQLITE_DELAY_MS ?? 2),
          ...(process.env.SG_BENCH_SQLITE_MAX_BATCH
            ? { maxBatch: Number(process.env.SG_BENCH_SQLITE_MAX_BATCH) }
            : {}),
          ...(process.env.SG_BENCH_SQLITE_CONCURRENCY
            ? { concurrency: Number(process.env.SG_BENCH_SQLITE_CONCURRENCY) }
            : {}),
        },
      });
      const r = await runLoad(broker.port);
      await broker.close();
      const stored = await store.count();
      await store.close();
      // Issue 13's target for SQLite; the InfluxDB one is the first broker issue's.
      out.push(...results('SQLite', r, { readings: 100_000, p99Ms: 250 }));
      out.push({ name: 'SQLite: readings in the store', value: stored, unit: '' });
    }
    // 2. InfluxDB 1.x
    if (!ONLY.has('influx')) {
      // not selected
    } else if (existsSync('/usr/bin/influxd')) {
      progress('InfluxDB run');
      const influx = await startInfluxd(join(dir, 'influx'));
      try {
        progress(`influxd up at ${influx.url}`);
        const store = await openInflux1Store({ url: influx.url, database: 'bench' });
        progress('store open');
        const broker = await startBroker({
          mqtt: { host: '127.0.0.1', port: 0 },
          store,
          logger,
          allowAnonymous: true,
          recorder: { concurrency: 4, maxBatch: 5000, maxDelayMs: 5 },
        });
        const r = await runLoad(broker.port);
        await broker.close();
        out.push(...results('InfluxDB 1.6.7', r, { readings: 30_000, p99Ms: 1000 }));
        out.push({ name: 'InfluxDB 1.6.7: readings in the store', value: await store.count(), unit: '' });
        await store.close();
      } finally {
        await stopProc(influx.proc);
      }
    } else {
      out.push({ name: 'InfluxDB: SKIPPED (/usr/bin/influxd absent)', value: 0, unit: '' });
    }
    // 3. The broker alone: same validation and PUBACK path, a store that only counts.
    if (ONLY.has('alone')) {
      progress('broker-alone run');
      let n = 0;
      const store = {
        async write(b: readonly unknown[]) {
          n += b.length;
        },
        async latest() {
          return [];
        },
        async range() {
          return [];
        },
        async *readings() {},
        async count() {
          return n;
        },
        async close() {},
      };
      const broker = await startBroker({
        mqtt: { host: '127.0.0.1', port: 0 },
        store,
        logger,
        allowAnonymous: true,
      });
      const r = await runLoad(broker.port);
      await broker.close();
      aloneRate = r.messages / r.seconds;
      out.push(...results('broker alone (no store)', r));
    }
    // 4. Mosquitto on the same load.
    if (!ONLY.has('mosquitto')) {
      // not selected
    } else if (existsSync('/usr/sbin/mosquitto')) {
      progress('Mosquitto run');
      const port = await freePort();
      const conf = join(dir, 'mosquitto.conf');
      writeFileSync(
        conf,
        `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_connections -1\n`,
      );
      const proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: 'ignore' });
      try {
        const { connectAsync } = await import('mqtt');
        for (let i = 0; i < 100; i++) {
          const ok = await connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 }).then(
            (c) => c.endAsync().then(() => true),
            () => false,
          );
          if (ok) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        const r = await runLoad(port);
        out.push(...results('Mosquitto', r));
        if (aloneRate > 0)
          out.push({
            name: 'broker alone / Mosquitto (msg/s ratio)',
            value: Number((aloneRate / (r.messages / r.seconds)).toFixed(3)),
            unit: 'x',
          });
      } finally {
        await stopProc(proc);
      }
    } else {
      out.push({ name: 'Mosquitto: SKIPPED (/usr/sbin/mosquitto absent)', value: 0, unit: '' });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
