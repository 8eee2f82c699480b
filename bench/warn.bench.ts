/**
 * Residents' warnings (issue 11): 10,000 web push subscribers of one area notified through the
 * outbox, against a push service on loopback that verifies every VAPID signature and decrypts every
 * payload (the test's push service, control-center/test/warn/push-service.ts); and the public page
 * served over HTTP, rendered on every request (no cache: the worst case; the server will keep the
 * bytes per state). The control center, the push service and the load generator share this process
 * and the machine's two cores, so the figures are conservative.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../control-center/src/notify/clock.ts';
import { Outbox } from '../control-center/src/notify/outbox.ts';
import { enqueuePush, inSavepoint } from '../control-center/src/warn/fanout.ts';
import { renderWarning } from '../control-center/src/warn/messages.ts';
import { renderPublicPage } from '../control-center/src/warn/public-page.ts';
import { webPushChannel } from '../control-center/src/warn/push-channel.ts';
import { PushSubscriptions } from '../control-center/src/warn/push-store.ts';
import { loadOrCreateVapidKeys } from '../control-center/src/warn/vapid.ts';
import { UMYEONSAN } from '../control-center/test/warn/fixtures.ts';
import { openWarnDb } from '../control-center/test/warn/helpers.ts';
import { startPushService } from '../control-center/test/warn/push-service.ts';
import type { BenchResult } from './run.ts';

const SUBSCRIBERS = 10_000;
const PAGE_SECONDS = 5;
const PAGE_CONNECTIONS = 32;

async function pushFanout(dir: string): Promise<BenchResult[]> {
  const db = openWarnDb(join(dir, 'ops.db'));
  const vapid = loadOrCreateVapidKeys(join(dir, 'vapid.json')).keys;
  const service = await startPushService({ vapidPublicKey: vapid.publicKey });
  const store = new PushSubscriptions({ db, allowedHosts: ['127.0.0.1'], allowHttp: true });
  inSavepoint(db, () => {
    for (let i = 0; i < SUBSCRIBERS; i++)
      store.subscribe('umyeonsan', service.subscribe(`s${i}`), i % 5 ? 'ko' : 'en');
  });
  const outbox = new Outbox({
    db,
    clock: systemClock,
    audit: { record: () => undefined },
    channels: [webPushChannel({ id: 'push', store, vapid, subject: 'mailto:bench@example.kr' })],
    concurrency: 64,
  });
  outbox.start();
  try {
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
    while (new Set(service.received.map((r) => r.name)).size < SUBSCRIBERS) {
      if (performance.now() - t0 > 600_000)
        throw new Error(`only ${service.received.length} pushes in 10 min`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const delivered = new Set(service.received.map((r) => r.name)).size;
    const repeats = service.received.length - delivered;
    const stats = outbox.stats();
    if (queued !== SUBSCRIBERS || service.refused.length > 0)
      throw new Error(`queued ${queued}, refused ${service.refused.length}, stats ${JSON.stringify(stats)}`);
    return [
      {
        name: `push: ${SUBSCRIBERS} subscribers notified (verified, decrypted)`,
        value: seconds,
        unit: 's',
        target: '<= 60',
        pass: seconds <= 60,
      },
      { name: 'push: fan-out queued in one transaction', value: (tQueued - t0) / 1000, unit: 's' },
      { name: 'push: deliveries per second', value: delivered / seconds, unit: '/s' },
      { name: 'push: repeated requests (timed out, then retried)', value: repeats, unit: '' },
      { name: 'push: rows still queued for retry at that moment', value: stats.queued, unit: '' },
    ];
  } finally {
    await outbox.stop();
    await service.close();
    db.close();
  }
}

async function publicPage(): Promise<BenchResult[]> {
  const updatedAt = Date.now();
  const server = createServer((_req, res) => {
    const r = renderPublicPage({
      area: UMYEONSAN,
      state: { kind: 'level', level: 3, exercise: false, updatedAt },
      links: { capFeed: '/cap/areas/umyeonsan/feed.xml', emailSubscribe: '/warn/email/subscribe' },
    });
    res.writeHead(200, r.headers).end(r.html);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/p/umyeonsan`;
  let done = 0;
  let bytes = 0;
  const deadline = performance.now() + PAGE_SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: PAGE_CONNECTIONS }, async () => {
      while (performance.now() < deadline) {
        const res = await fetch(url);
        const body = await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
        bytes = body.byteLength;
        done++;
      }
    }),
  );
  const rate = done / ((performance.now() - t0) / 1000);
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  return [
    {
      name: `public page: requests/s (rendered each time, ${PAGE_CONNECTIONS} conns)`,
      value: rate,
      unit: 'req/s',
      target: '>= 2000',
      pass: rate >= 2000,
    },
    { name: 'public page: size', value: bytes, unit: 'bytes', target: '<= 50000', pass: bytes <= 50_000 },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-warn-'));
  try {
    return [...(await pushFanout(dir)), ...(await publicPage())];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
