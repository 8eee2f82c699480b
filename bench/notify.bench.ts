/**
 * The notification outbox (issue 10): deliveries per second and enqueue-to-receipt latency to a local
 * webhook receiver, over a real SQLite file (WAL). The receiver runs in the same process and checks
 * every signature with verifyWebhook, so its cost is included; it answers 200 at once.
 *
 * - burst: 2,000 notices enqueued in one transaction, then delivered; deliveries/s until the last is
 *   recorded as sent, at concurrency 8 (the default) and 32, with synchronous=NORMAL and FULL.
 * - steady: 100 notices/s for 5 s; latency from enqueue to the receiver's verified request, p50/p99.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  NOTIFY_MIGRATIONS,
  Outbox,
  systemClock,
  verifyWebhook,
  webhookChannel,
} from '@slopeguard/control-center/notify/index.ts';
import type { BenchResult } from './run.ts';

const SECRET = 'bench-secret-0123456789abcdef';

async function receiver(onHook: (delivery: string, body: string) => void) {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const v = verifyWebhook(req.headers, body, SECRET, Date.now());
      if (!v.ok) {
        res.writeHead(401).end();
        return;
      }
      onHook(v.deliveryId, body);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function openDb(dir: string, name: string, synchronous: 'NORMAL' | 'FULL'): DatabaseSync {
  const db = new DatabaseSync(join(dir, name));
  db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous}`);
  for (const m of NOTIFY_MIGRATIONS) m.up(db);
  return db;
}

const message = (i: number) => ({
  subject: `[Slopeguard] 3 경계 Warning · site-${i % 50}`,
  text: `[급경사지 경보] site-${i % 50}\n단계: 3 경계\n\n[Slope alert] site-${i % 50}\nLevel: 3 Warning`,
  data: { site: `site-${i % 50}`, level: 3 },
});

async function burst(dir: string, concurrency: number, synchronous: 'NORMAL' | 'FULL'): Promise<number> {
  const n = 2_000;
  let got = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const rx = await receiver(() => {
    if (++got === n) done();
  });
  const db = openDb(dir, `burst-${concurrency}-${synchronous}.db`, synchronous);
  const outbox = new Outbox({
    db,
    channels: [webhookChannel({ id: 'hook', url: rx.url, secret: SECRET, clock: systemClock })],
    clock: systemClock,
    audit: { record: () => {} },
    concurrency,
  });
  db.exec('BEGIN');
  for (let i = 0; i < n; i++) {
    outbox.enqueue({
      alertId: `alert-${i}`,
      level: 3,
      channel: 'hook',
      recipient: { id: 'gw', address: '' },
      message: message(i),
    });
  }
  db.exec('COMMIT');
  const t0 = performance.now();
  outbox.start();
  await all;
  await outbox.whenIdle();
  const seconds = (performance.now() - t0) / 1000;
  const sent = outbox.stats().sent;
  await outbox.stop();
  db.close();
  await rx.close();
  if (sent !== n) throw new Error(`burst: ${sent} of ${n} recorded as sent`);
  return n / seconds;
}

async function steady(dir: string): Promise<{ p50: number; p99: number }> {
  const rate = 100;
  const seconds = 5;
  const enqueuedAt = new Map<string, number>();
  const latencies: number[] = [];
  const rx = await receiver((delivery) => {
    const t = enqueuedAt.get(delivery);
    if (t !== undefined) latencies.push(performance.now() - t);
  });
  const db = openDb(dir, 'steady.db', 'NORMAL');
  const outbox = new Outbox({
    db,
    channels: [webhookChannel({ id: 'hook', url: rx.url, secret: SECRET, clock: systemClock })],
    clock: systemClock,
    audit: { record: () => {} },
  });
  outbox.start();
  const total = rate * seconds;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const at = performance.now();
    const { deliveryId } = outbox.enqueue({
      alertId: `alert-${i}`,
      level: 3,
      channel: 'hook',
      recipient: { id: 'gw', address: '' },
      message: message(i),
    });
    enqueuedAt.set(deliveryId, at);
  }
  await outbox.whenIdle();
  await outbox.stop();
  db.close();
  await rx.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  if (latencies.length !== total) throw new Error(`steady: ${latencies.length} of ${total} received`);
  return { p50: q(0.5), p99: q(0.99) };
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-notify-'));
  try {
    const results: BenchResult[] = [];
    for (const [c, s] of [
      [8, 'NORMAL'],
      [32, 'NORMAL'],
      [8, 'FULL'],
    ] as const) {
      results.push({
        name: `outbox burst, concurrency ${c}, synchronous ${s}`,
        value: Math.round(await burst(dir, c, s)),
        unit: 'deliveries/s',
      });
    }
    const lat = await steady(dir);
    results.push({ name: 'outbox enqueue -> receiver at 100/s, p50', value: lat.p50, unit: 'ms' });
    results.push({ name: 'outbox enqueue -> receiver at 100/s, p99', value: lat.p99, unit: 'ms' });
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
