import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type ReadingsQuery, type Store, type StoredReading } from '@slopeguard/broker';
import { siteConfig } from '@slopeguard/core/engine/index.ts';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ControlCenter, startControlCenter } from '../src/index.ts';
import type { ReadingStore } from '../src/store/reading-store.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * The backtest route reads the stored readings through the store's raw, paged reader
 * (`Store.readings`), not through 1 ms range buckets: over a real SQLite store file, one reader per
 * sensor over the period and its warm-up, the same answer as the bucket read gives, and a period
 * over the bound stops at the page that crosses it and ends the store's reading.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const T0 = Math.floor((Date.now() - 24 * HOUR) / (5 * MIN)) * 5 * MIN;
const FROM = T0;
const TO = T0 + 14 * HOUR;
const STORM = T0 + 2 * HOUR;
const config = siteConfig({
  id: 'slope-a',
  sensors: [
    { id: 'rain-1', kind: 'rain' },
    { id: 'tilt-1', kind: 'tilt' },
  ],
});
const SERIES: StoredReading[] = [];
for (let ts = FROM - 3 * 24 * HOUR; ts <= TO; ts += MIN) {
  const mm = ts >= STORM && ts < STORM + 90 * MIN ? 2 : 0;
  SERIES.push({ site: 'slope-a', gateway: 'gw-1', sensor: 'rain-1', kind: 'rain', ts, values: { mm } });
  SERIES.push({
    site: 'slope-a',
    gateway: 'gw-1',
    sensor: 'tilt-1',
    kind: 'tilt',
    ts: ts + 1000,
    values: { x: 0.5 + ((ts / MIN) % 7) * 1e-4, y: -0.25 },
  });
}

describe('backtest: raw paged reads from the store', () => {
  let dir: string;
  let broker: Mosquitto;
  let store: Store;
  let center: ControlCenter;
  let viewer: SignedIn;
  const calls = { range: 0, readings: [] as ReadingsQuery[], pages: 0, ended: 0 };
  // The store as the route sees it: the real one, counted; `raw` off leaves only range (a partial store).
  let raw = true;
  const counted: ReadingStore = {
    latest: (f) => store.latest(f),
    range: (q) => {
      calls.range++;
      return store.range(q);
    },
  };
  Object.defineProperty(counted, 'readings', {
    get: () =>
      raw
        ? async function* (q: ReadingsQuery) {
            calls.readings.push(q);
            try {
              for await (const page of store.readings(q)) {
                calls.pages++;
                yield page;
              }
            } finally {
              calls.ended++;
            }
          }
        : undefined,
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cc-backtest-raw-'));
    broker = await startMosquitto();
    store = openSqliteStore(join(dir, 'readings.sqlite'));
    await store.write(SERIES);
    center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url },
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      store: counted,
      webRoot: join(dir, 'no-web'),
      sites: { configs: new Map([['slope-a', config]]) },
      backtestLimits: { maxReadings: 8000, perMinute: 1000 },
    });
    viewer = await signIn(center, 'viewer');
  }, 60_000);
  afterAll(async () => {
    await center?.close();
    await broker?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (body: unknown) => viewer.fetch('/api/v1/sites/slope-a/backtest', { method: 'POST', body });
  const reset = () => Object.assign(calls, { range: 0, readings: [], pages: 0, ended: 0 });

  it('reads each sensor once through the raw reader, with the answer the bucket read gives', async () => {
    reset();
    const period = { from: String(FROM), to: String(TO) };
    const res = await run(period);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { readings: number; current: unknown; proposed: unknown };
    expect(calls.range).toBe(0);
    expect(calls.readings).toEqual([
      { site: 'slope-a', sensor: 'rain-1', from: FROM - 24 * HOUR, to: TO, pageSize: 10_000 },
      { site: 'slope-a', sensor: 'tilt-1', from: FROM - 24 * HOUR, to: TO, pageSize: 10_000 },
    ]);
    expect(body.readings).toBe(SERIES.filter((r) => r.ts >= FROM - 24 * HOUR && r.ts <= TO).length);

    // The same period through 1 ms buckets (a store without the raw reader): the same run.
    raw = false;
    try {
      reset();
      const viaBuckets = await run(period);
      expect(viaBuckets.status).toBe(200);
      expect(calls.range).toBeGreaterThan(0);
      const b = (await viaBuckets.json()) as typeof body;
      expect(b.readings).toBe(body.readings);
      expect(b.current).toEqual(body.current);
      expect(b.proposed).toEqual(body.proposed);
    } finally {
      raw = true;
    }
  });

  it('stops at the page that crosses the bound and ends the store reading', async () => {
    reset();
    // From three days before the period: 5,161 readings a sensor, each in one page. rain-1's page
    // fits in 8,000; tilt-1's crosses it. tilt-1's reading is ended by the route (its generator
    // would otherwise wait for the next ask), and nothing more is read.
    const many = await run({ from: String(FROM - 2 * 24 * HOUR), to: String(TO) });
    expect(many.status).toBe(400);
    expect(((await many.json()) as { error: string }).error).toBe('SG_ERR_BACKTEST_TOO_MANY');
    expect(calls.readings.map((q) => q.sensor)).toEqual(['rain-1', 'tilt-1']);
    expect(calls.pages).toBe(2);
    expect(calls.range).toBe(0);
    await expect.poll(() => calls.ended).toBe(2);
  });
});
