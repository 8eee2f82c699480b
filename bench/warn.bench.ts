/**
 * Residents' warnings (issue 11):
 * - 10,000 web push subscribers of one area notified through the outbox as the server runs it (its
 *   concurrency, the operational database with its audit trail), to a push service on loopback that
 *   verifies every VAPID signature and decrypts every payload (the test's push service,
 *   control-center/test/warn/push-service.ts), running in a worker thread as a push service runs
 *   elsewhere;
 * - the public page of a running control center (GET /p/{area}, kept bytes), with the load generator
 *   (node:http, keep-alive) in a worker thread.
 * Control center, push service and load generator share this machine's two cores, so the figures are
 * conservative; the load average during the run is printed with them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { Registry } from 'prom-client';
import { sqliteAuditLog } from '../control-center/src/audit/audit-log.ts';
import { openOperationalDb } from '../control-center/src/db/open.ts';
import { startControlCenter } from '../control-center/src/index.ts';
import { auditSinkFor } from '../control-center/src/notify/audit-adapter.ts';
import { systemClock } from '../control-center/src/notify/clock.ts';
import { Outbox } from '../control-center/src/notify/outbox.ts';
import { parseWarnConfig } from '../control-center/src/warn/config.ts';
import { enqueuePush, inSavepoint } from '../control-center/src/warn/fanout.ts';
import { renderWarning } from '../control-center/src/warn/messages.ts';
import { webPushChannel } from '../control-center/src/warn/push-channel.ts';
import { PushSubscriptions } from '../control-center/src/warn/push-store.ts';
import { loadOrCreateVapidKeys } from '../control-center/src/warn/vapid.ts';
import { WARN_OUTBOX_CONCURRENCY } from '../control-center/src/warn/wire.ts';
import { startMosquitto } from '../control-center/test/mosquitto.ts';
import { UMYEONSAN } from '../control-center/test/warn/fixtures.ts';
import type { BenchResult } from './run.ts';

const SUBSCRIBERS = 10_000;
const PAGE_SECONDS = 5;
const PAGE_CONNECTIONS = 32;
const WORKER = new URL('./warn-workers.ts', import.meta.url);

function ask<T>(w: Worker, message: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('message', (m: T) => {
      w.off('error', reject);
      resolve(m);
    });
    w.postMessage(message);
  });
}

async function pushFanout(dir: string): Promise<BenchResult[]> {
  const db = openOperationalDb(join(dir, 'ops.db'));
  const vapid = loadOrCreateVapidKeys(join(dir, 'vapid.json')).keys;
  const worker = new Worker(WORKER, { workerData: { role: 'push', vapidPublicKey: vapid.publicKey } });
  await new Promise((r) => worker.once('message', r));
  const store = new PushSubscriptions({ db, allowedHosts: ['127.0.0.1'], allowHttp: true });
  const names = Array.from({ length: SUBSCRIBERS }, (_, i) => `s${i}`);
  const subs = await ask<{ endpoint: string; keys: { p256dh: string; auth: string } }[]>(worker, {
    type: 'subscribe',
    names,
  });
  inSavepoint(db, () => {
    for (const [i, s] of subs.entries()) store.subscribe('umyeonsan', s, i % 5 ? 'ko' : 'en');
  });
  const channel = webPushChannel({ id: 'push', store, vapid, subject: 'mailto:bench@example.kr' });
  const outbox = new Outbox({
    db,
    clock: systemClock,
    audit: auditSinkFor(sqliteAuditLog(db)),
    channels: [channel],
    concurrency: WARN_OUTBOX_CONCURRENCY,
  });
  outbox.start();
  try {
    const load0 = loadavg()[0] as number;
    const t0 = performance.now();
    const queued = enqueuePush(outbox, store, 'push', {
      area: 'umyeonsan',
      alertId: 'bench-alert',
      level: 4,
      kind: 'serious',
      round: 'cap-1',
      exercise: true,
      rendered: renderWarning({ area: UMYEONSAN, kind: 'serious', exercise: true, issuedAt: Date.now() }),
    });
    const tQueued = performance.now();
    // Done when every subscriber's push service has the message. The outbox may still hold a few rows
    // for retry: attempts it stopped waiting for on a loaded machine that arrived all the same.
    let stats = { delivered: 0, received: 0, refused: 0 };
    while (stats.delivered < SUBSCRIBERS) {
      if (performance.now() - t0 > 600_000) throw new Error(`only ${stats.delivered} pushes in 10 min`);
      await new Promise((r) => setTimeout(r, 100));
      stats = await ask(worker, { type: 'stats' });
    }
    const seconds = (performance.now() - t0) / 1000;
    const load1 = loadavg()[0] as number;
    const o = outbox.stats();
    if (queued !== SUBSCRIBERS || stats.refused > 0)
      throw new Error(`queued ${queued}, refused ${stats.refused}, stats ${JSON.stringify(o)}`);
    return [
      {
        name: `push: ${SUBSCRIBERS} subscribers notified (verified, decrypted)`,
        value: seconds,
        unit: 's',
        target: '<= 60',
        pass: seconds <= 60,
      },
      { name: 'push: fan-out queued in one transaction', value: (tQueued - t0) / 1000, unit: 's' },
      { name: 'push: deliveries per second', value: stats.delivered / seconds, unit: '/s' },
      {
        name: 'push: repeated requests (timed out, then retried)',
        value: stats.received - stats.delivered,
        unit: '',
      },
      { name: 'push: rows still queued for retry at that moment', value: o.queued, unit: '' },
      { name: 'push: load average (1 min) at the start', value: load0, unit: '' },
      { name: 'push: load average (1 min) at the end', value: load1, unit: '' },
    ];
  } finally {
    await outbox.stop();
    await channel.close?.();
    await ask(worker, { type: 'close' });
    await worker.terminate();
    db.close();
  }
}

async function publicPage(dir: string): Promise<BenchResult[]> {
  const broker = await startMosquitto();
  const warn = parseWarnConfig({}, { dataDir: dir });
  if (!warn.ok) throw new Error(warn.errors.join('; '));
  const center = await startControlCenter({
    http: { host: '127.0.0.1', port: 0 },
    mqtt: { url: broker.url },
    logger: pino({ level: 'silent' }),
    metrics: new Registry(),
    webRoot: join(dir, 'no-web'),
    warn: { config: warn.value, areas: new Map([['umyeonsan-1', UMYEONSAN]]) },
  });
  try {
    const url = `${center.url}p/${UMYEONSAN.id}`;
    const load0 = loadavg()[0] as number;
    const worker = new Worker(WORKER, {
      workerData: { role: 'load', url, seconds: PAGE_SECONDS, connections: PAGE_CONNECTIONS },
    });
    const r = await new Promise<{ rate: number; bytes: number; bad: number }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    if (r.bad > 0) throw new Error(`${r.bad} requests not answered 200`);
    return [
      {
        name: `public page: requests/s (GET /p/{area}, ${PAGE_CONNECTIONS} conns)`,
        value: r.rate,
        unit: 'req/s',
        target: '>= 2000',
        pass: r.rate >= 2000,
      },
      {
        name: 'public page: size',
        value: r.bytes,
        unit: 'bytes',
        target: '<= 50000',
        pass: r.bytes <= 50_000,
      },
      { name: 'public page: load average (1 min) before', value: load0, unit: '' },
    ];
  } finally {
    await center.close();
    await broker.stop();
  }
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-warn-'));
  try {
    return [...(await pushFanout(dir)), ...(await publicPage(dir))];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
