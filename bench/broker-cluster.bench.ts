/**
 * `npm run bench -- broker-cluster`: the two-node broker cluster of docs/deployment.md, as
 * broker/test/cluster.test.ts starts it (Redis, InfluxDB 1.x, two `slopeguard server` processes with
 * `cluster:`, HAProxy in front; real servers on loopback ports). Two figures:
 *   1. readings/s into InfluxDB through HAProxy: GATEWAYS provisioned gateways (real accounts,
 *      spread over both nodes by HAProxy), 10 readings per message, QoS 1, one message in flight
 *      each, WARMUP_MS then RUN_MS measured; latency is PUBLISH to PUBACK (= stored in InfluxDB).
 *   2. the failover gap: one more gateway publishing one message at a time; its node is killed
 *      with SIGKILL; the gap is the time from the kill to its first PUBACK from the other node.
 * The load generator is this process's thread (the figure is the cluster's only while this thread
 * is not the limit: at this size it is far from it).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from './run.ts';

const GATEWAYS = Number(process.env.SG_BENCH_CLUSTER_GATEWAYS ?? 100);
const PER_MESSAGE = 10;
const WARMUP_MS = Number(process.env.SG_BENCH_WARMUP_MS ?? 3000);
const RUN_MS = Number(process.env.SG_BENCH_RUN_MS ?? 10_000);
const progress = (msg: string) => process.stderr.write(`  [cluster bench] ${msg}\n`);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export async function run(): Promise<BenchResult[]> {
  const { default: mqtt } = await import('mqtt');
  const { openRedisRegistry } = await import('@slopeguard/broker/auth/redis-registry.ts');
  const { startRedis } = await import('../broker/test/redis-server.ts');
  const { startInfluxd } = await import('../broker/test/influxd.ts');
  const { startHaproxy } = await import('../broker/test/haproxy.ts');
  const { startClusterNode } = await import('../broker/test/cluster-node.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-cluster-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    const redis = await startRedis(dir);
    stops.push(() => redis.stop());
    const influxd = await startInfluxd(join(dir, 'influxd'));
    stops.push(() => influxd.stop());
    progress(`provisioning ${GATEWAYS + 1} gateways (scrypt each)`);
    const registry = await openRedisRegistry({ url: redis.url });
    const secrets = Array.from({ length: GATEWAYS + 1 }, (_, g) => registry.addDevice('bench', `g${g}`));
    await registry.flush();
    registry.close();
    const nodes = await Promise.all(
      ['n1', 'n2'].map((n) => startClusterNode(dir, n, redis.url, influxd.url)),
    );
    for (const n of nodes)
      stops.push(async () => {
        if (n.proc.exitCode !== null || n.proc.signalCode !== null) return;
        const exited = once(n.proc, 'exit');
        n.proc.kill('SIGTERM');
        await exited;
      });
    const haproxy = await startHaproxy(dir, Object.fromEntries(nodes.map((n) => [n.name, n.port])));
    stops.push(() => haproxy.stop());
    progress('cluster up; connecting gateways through HAProxy');
    const connectGateway = (g: number) =>
      mqtt.connectAsync({
        host: '127.0.0.1',
        port: haproxy.port,
        username: `bench.g${g}`,
        password: secrets[g],
        clientId: `bench.g${g}`,
        clean: false,
        reconnectPeriod: 50,
        connectTimeout: 30_000,
      });
    const clients = [];
    for (let g = 0; g < GATEWAYS; g += 20)
      clients.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(20, GATEWAYS - g) }, (_, k) => connectGateway(g + k)),
        )),
      );

    // 1. Throughput into InfluxDB.
    progress('load');
    const t0 = Date.now();
    const measureFrom = t0 + WARMUP_MS;
    const end = measureFrom + RUN_MS;
    const latencies: number[] = [];
    await Promise.all(
      clients.map(async (c, g) => {
        let seq = 0;
        const base = Date.now() - 3_600_000;
        while (Date.now() < end) {
          const ts = base + seq;
          const readings = Array.from(
            { length: PER_MESSAGE },
            (_, k) =>
              `{"sensor":"s${k}","kind":"tilt","ts":${ts},"values":{"x":${(seq % 100) / 100},"y":0.5}}`,
          );
          const sent = Date.now();
          await c.publishAsync(
            `slopeguard/v1/bench/g${g}/telemetry`,
            `{"seq":${seq++},"readings":[${readings.join(',')}]}`,
            { qos: 1 },
          );
          const now = Date.now();
          if (sent >= measureFrom && now <= end) latencies.push(now - sent);
        }
      }),
    );
    latencies.sort((x, y) => x - y);
    const sessions = await haproxy.sessions();
    const out: BenchResult[] = [
      {
        name: 'two nodes -> InfluxDB: readings/s',
        value: Math.round((latencies.length * PER_MESSAGE) / (RUN_MS / 1000)),
        unit: 'readings/s',
      },
      { name: 'two nodes: p50 publish-to-PUBACK', value: percentile(latencies, 50), unit: 'ms' },
      { name: 'two nodes: p99 publish-to-PUBACK', value: percentile(latencies, 99), unit: 'ms' },
      ...Object.entries(sessions).map(([name, s]) => ({
        name: `gateways on ${name} (HAProxy)`,
        value: s.sessions,
        unit: '',
      })),
    ];
    await Promise.all(clients.map((c) => c.endAsync()));

    // 2. The failover gap.
    progress('failover');
    const before = await haproxy.sessions();
    const gw = await connectGateway(GATEWAYS);
    let victim: string | undefined;
    for (let i = 0; i < 100 && !victim; i++) {
      const now = await haproxy.sessions();
      victim = Object.keys(now).find((n) => (now[n]?.sessions ?? 0) > (before[n]?.sessions ?? 0));
      if (!victim) await new Promise((r) => setTimeout(r, 20));
    }
    const node = nodes.find((n) => n.name === victim);
    if (!node) throw new Error('could not tell which node the gateway is on');
    let killedAt = 0;
    let gap = 0;
    let seq = 0;
    const topic = `slopeguard/v1/bench/g${GATEWAYS}/telemetry`;
    const publishing = (async () => {
      while (gap === 0) {
        await gw.publishAsync(
          topic,
          `{"seq":${seq},"readings":[{"sensor":"s0","kind":"tilt","ts":${Date.now() - 60_000 + seq++},"values":{"x":0}}]}`,
          { qos: 1 },
        );
        if (killedAt > 0) gap = Date.now() - killedAt;
        if (seq === 50) {
          node.proc.kill('SIGKILL');
          killedAt = Date.now();
        }
      }
    })();
    await publishing;
    gw.end(true);
    out.push({ name: 'failover gap (SIGKILL to first PUBACK elsewhere)', value: gap, unit: 'ms' });
    return out;
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
