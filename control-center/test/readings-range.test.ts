import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type Store, type StoredReading } from '@slopeguard/broker';
import { openInflux1Store } from '@slopeguard/broker/store/influx1.ts';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HAS_INFLUXD, type Influxd, startInfluxd } from '../../broker/test/influxd.ts';
import { type ControlCenter, startControlCenter } from '../src/index.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 10, HTTP API: a sensor's readings over a time range, downsampled on the server through the
 * store's `range`, against a real SQLite file and a real InfluxDB 1.x.
 */

// Minute-aligned, an hour ago: the control center seeds its picture only from readings not ahead of it.
const T0 = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
const tilt = (sensor: string, ts: number, x: number): StoredReading => ({
  site: 'slope-a',
  gateway: 'gw-1',
  sensor,
  kind: 'tilt',
  ts,
  values: { x, y: -x },
});
// 60 readings one minute apart: x = 0..59.
const SERIES = Array.from({ length: 60 }, (_, i) => tilt('t1', T0 + i * 60_000, i));

interface Fixture {
  store: Store;
  /** Makes the store unreachable (closes the SQLite file; stops influxd). */
  breakStore(): Promise<void>;
  cleanup(): Promise<void>;
}

function rangeSuite(name: string, open: () => Promise<Fixture>) {
  describe(`readings range API: ${name}`, () => {
    let broker: Mosquitto;
    let fixture: Fixture;
    let center: ControlCenter;
    let viewer: SignedIn;

    beforeAll(async () => {
      broker = await startMosquitto();
      fixture = await open();
      await fixture.store.write([...SERIES, tilt('t2', T0, 5)]);
      center = await startControlCenter({
        http: { host: '127.0.0.1', port: 0 },
        mqtt: { url: broker.url },
        logger: pino({ level: 'silent' }),
        metrics: new Registry(),
        store: fixture.store,
        webRoot: '/nonexistent',
      });
      viewer = await signIn(center, 'viewer');
    }, 60_000);
    afterAll(async () => {
      await center?.close();
      await broker?.stop();
      await fixture?.cleanup();
    });

    const path = (q: string, sensor = 't1', site = 'slope-a') =>
      `api/v1/sites/${site}/sensors/${sensor}/readings?${q}`;

    it('needs a signed-in reader: anonymous 401, a read token 200, an open-data token 403', async () => {
      const q = path(`from=${T0}&to=${T0 + 3_600_000}`);
      expect((await fetch(`${center.url}${q}`)).status).toBe(401);
      const admin = await signIn(center, 'admin');
      const token = async (scope: string) => {
        const res = await admin.fetch('/api/v1/tokens', { method: 'POST', body: { name: scope, scope } });
        return ((await res.json()) as { token: string }).token;
      };
      const as = async (t: string) =>
        (await fetch(`${center.url}${q}`, { headers: { authorization: `Bearer ${t}` } })).status;
      expect(await as(await token('read'))).toBe(200);
      expect(await as(await token('open-data'))).toBe(403);
    });

    it('answers min/max/mean per bucket and field, buckets aligned to from', async () => {
      // 10 buckets of 6 minutes: [T0, T0 + 3,599,999] is 3,600,000 ms with both ends inclusive.
      const res = await viewer.fetch(path(`from=${T0}&to=${T0 + 3_599_999}&points=10`));
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        site: string;
        sensor: string;
        from: number;
        to: number;
        stepMs: number;
        buckets: {
          start: number;
          count: number;
          values: Record<string, { min: number; max: number; mean: number }>;
        }[];
      };
      expect(body).toMatchObject({
        site: 'slope-a',
        sensor: 't1',
        from: T0,
        to: T0 + 3_599_999,
        stepMs: 360_000,
      });
      expect(body.buckets).toHaveLength(10);
      expect(body.buckets.map((b) => b.start)).toEqual(
        Array.from({ length: 10 }, (_, i) => T0 + i * 360_000),
      );
      expect(body.buckets.map((b) => b.count)).toEqual(Array(10).fill(6));
      // Bucket 0 holds x = 0..5, bucket 9 holds x = 54..59.
      expect(body.buckets[0]?.values.x).toEqual({ min: 0, max: 5, mean: 2.5 });
      expect(body.buckets[0]?.values.y).toEqual({ min: -5, max: 0, mean: -2.5 });
      expect(body.buckets[9]?.values.x).toEqual({ min: 54, max: 59, mean: 56.5 });
    });

    it('reads ISO 8601 times like epoch ms, defaults points to 500 and leaves empty buckets out', async () => {
      const iso = (ms: number) => new Date(ms).toISOString();
      const a = (await (await viewer.fetch(path(`from=${iso(T0)}&to=${iso(T0 + 3_600_000)}`))).json()) as {
        stepMs: number;
        buckets: { start: number; count: number }[];
      };
      // 3,600,001 ms / 500 points -> 7,201 ms buckets; only the 60 with a reading come back.
      expect(a.stepMs).toBe(7_201);
      expect(a.buckets).toHaveLength(60);
      expect(a.buckets.reduce((n, b) => n + b.count, 0)).toBe(60);
      const offset = `${iso(T0).slice(0, 19)}+09:00`; // the same wall time in KST is 9 h earlier
      const b = (await (
        await viewer.fetch(path(`from=${encodeURIComponent(offset)}&to=${T0 + 3_600_000}&points=1`))
      ).json()) as {
        from: number;
        buckets: { count: number }[];
      };
      expect(b.from).toBe(T0 - 9 * 3_600_000);
      expect(b.buckets).toEqual([expect.objectContaining({ count: 60 })]);
    });

    it('refuses a bad range with a registered code', async () => {
      const cases: Array<[string, number, string]> = [
        [`from=${T0 + 1}&to=${T0}`, 400, 'SG_ERR_RANGE_ORDER'],
        [`from=${T0 - 401 * 86_400_000}&to=${T0}`, 400, 'SG_ERR_RANGE_TOO_LONG'],
        [`from=yesterday&to=${T0}`, 400, 'SG_ERR_BAD_TIME'],
        [`from=2026-11-29T09:00:00&to=${T0}`, 400, 'SG_ERR_BAD_TIME'], // no zone
        [`from=2026-13-01&to=${T0}`, 400, 'SG_ERR_BAD_TIME'],
        [`from=${T0}&to=${T0 + 1}&points=0`, 400, 'SG_ERR_BAD_REQUEST'],
        [`from=${T0}&to=${T0 + 1}&points=5001`, 400, 'SG_ERR_BAD_REQUEST'],
      ];
      for (const [q, status, code] of cases) {
        const res = await viewer.fetch(path(q));
        expect({ q, status: res.status, body: await res.json() }).toMatchObject({
          q,
          status,
          body: { error: code },
        });
      }
      // Exactly 400 days is served.
      expect((await viewer.fetch(path(`from=${T0 - 400 * 86_400_000}&to=${T0}`))).status).toBe(200);
      const noSite = await viewer.fetch(path(`from=${T0}`, 't1', 'elsewhere'));
      expect([noSite.status, ((await noSite.json()) as { error: string }).error]).toEqual([
        404,
        'SG_ERR_NO_SITE',
      ]);
      const noSensor = await viewer.fetch(path(`from=${T0}`, 'nope'));
      expect([noSensor.status, ((await noSensor.json()) as { error: string }).error]).toEqual([
        404,
        'SG_ERR_NO_SENSOR',
      ]);
    });

    it('answers 503 SG_ERR_STORE_UNAVAILABLE when the store is gone, without a stack', async () => {
      await fixture.breakStore();
      const res = await viewer.fetch(path(`from=${T0}&to=${T0 + 3_600_000}`));
      expect(res.status).toBe(503);
      const body = (await res.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
      expect(body.error).toBe('SG_ERR_STORE_UNAVAILABLE');
    });
  });
}

rangeSuite('SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-cc-range-'));
  const store = openSqliteStore(join(dir, 'readings.sqlite'));
  return {
    store,
    breakStore: () => store.close(),
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

if (!HAS_INFLUXD) {
  describe('readings range API: InfluxDB 1.x', () => {
    it('needs /usr/bin/influxd', () => {
      throw new Error(
        'influxd missing: install the Debian package `influxdb` (sudo apt-get install -y influxdb)',
      );
    });
  });
} else {
  let influxd: Influxd | undefined;
  rangeSuite('InfluxDB 1.x (real influxd)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-cc-range-influx-'));
    influxd = await startInfluxd(dir);
    const store = await openInflux1Store({ url: influxd.url, database: 'range_api' });
    return {
      store,
      breakStore: async () => {
        await influxd?.stop();
      },
      cleanup: async () => {
        await store.close();
        await influxd?.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
