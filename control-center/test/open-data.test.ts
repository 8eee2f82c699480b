import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type Store, type StoredReading } from '@slopeguard/broker';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqliteAlertStore } from '../src/alerts/alert-store.ts';
import { type ControlCenter, startControlCenter } from '../src/index.ts';
import { csvCell } from '../src/open-data/csv.ts';
import type { ReadingStore } from '../src/store/reading-store.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { signIn } from './sign-in.ts';

/**
 * Issue 10: open-data export of a site's readings and level history over a time range, CSV or
 * NDJSON, streamed, for an `open-data` token, every export audited. Real SQLite readings store.
 */
const HOUR = 3_600_000;
const T0 = Math.floor((Date.now() - 2 * HOUR) / HOUR) * HOUR;
const reading = (sensor: string, ts: number, values: Record<string, number>): StoredReading => ({
  site: 'slope-a',
  gateway: 'gw-1',
  sensor,
  kind: sensor.startsWith('r') ? 'rain' : 'tilt',
  ts,
  values,
});

describe('open-data export', () => {
  let dir: string;
  let broker: Mosquitto;
  let store: Store;
  let center: ControlCenter;
  let token: string;
  const calls: Array<{ sensor: string; from: number; to: number; stepMs?: number }> = [];
  /** Raw pages the store has been asked for, per site. */
  const rawPages = new Map<string, number>();
  /** A big site for the back-pressure test: 200 pages of 1,000 readings with four fields each. */
  const BIG = 200_000;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cc-open-'));
    broker = await startMosquitto();
    store = openSqliteStore(join(dir, 'readings.sqlite'));
    // t1: one reading every 30 s for an hour, x = 0..119; r1: 1 mm every 10 min.
    await store.write([
      ...Array.from({ length: 120 }, (_, i) => reading('t1', T0 + i * 30_000, { x: i, y: 0 })),
      ...Array.from({ length: 6 }, (_, i) => reading('r1', T0 + i * 600_000, { mm: 1 })),
      { ...reading('r1', T0 + HOUR, { mm: 0.5 }), gateway: 'gw-2', q: 'suspect' },
    ]);
    await store.write(
      Array.from({ length: BIG }, (_, i) => ({
        ...reading('b1', T0 + i, { a: i, b: i / 2, c: i / 4, d: i / 8 }),
        site: 'slope-big',
      })),
    );
    // The real store, counting the range queries the export makes.
    const counted: ReadingStore = {
      latest: (f) => store.latest(f),
      range: (q) => {
        calls.push(q);
        return store.range(q);
      },
      readings: (q) => ({
        async *[Symbol.asyncIterator]() {
          for await (const page of store.readings(q)) {
            rawPages.set(q.site, (rawPages.get(q.site) ?? 0) + 1);
            yield page;
          }
        },
      }),
    };
    center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url },
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      store: counted,
      webRoot: join(dir, 'no-web'),
    });
    // A storm episode at slope-a (and one at slope-b that must not leak into slope-a's export).
    const alerts = sqliteAlertStore(center.db);
    const a = alerts.open('slope-a', 1, 'live', T0 + 60_000);
    alerts.update(a.id, 3, 'live', T0 + 120_000);
    alerts.acknowledge(a.id, 'kim.operator', 'called the village head at 010-1234-5678', T0 + 130_000);
    alerts.update(a.id, 3, 'no_data', T0 + 180_000);
    alerts.update(a.id, 0, 'live', T0 + 240_000);
    alerts.clear(a.id, T0 + 240_000);
    alerts.open('slope-b', 2, 'live', T0 + 60_000);
    const admin = await signIn(center, 'admin');
    const res = await admin.fetch('/api/v1/tokens', {
      method: 'POST',
      body: { name: 'data-portal', scope: 'open-data' },
    });
    token = ((await res.json()) as { token: string }).token;
  });
  afterAll(async () => {
    await center?.close();
    await broker?.stop();
    await store?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, auth = true) =>
    fetch(`${center.url}api/v1/open-data/sites/${path}`, {
      headers: auth ? { authorization: `Bearer ${token}` } : {},
    });
  const csv = (text: string) =>
    text
      .split('\r\n')
      .filter((l) => l !== '')
      .map((l) => l.split(','));

  it('needs a token or a sign-in', async () => {
    expect((await get(`slope-a/readings?from=${T0}`, false)).status).toBe(401);
    expect((await get(`slope-a/levels?from=${T0}`, false)).status).toBe(401);
  });

  it('streams readings as CSV: one line per sensor, bucket and field, with min/max/mean', async () => {
    const res = await get(`slope-a/readings?from=${T0}&to=${T0 + HOUR - 1}&stepMs=600000`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="slope-a-readings.csv"');
    // Streamed: no length known up front.
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    expect(res.headers.get('content-length')).toBeNull();
    const [header, ...rows] = csv(await res.text());
    expect(header).toEqual([
      'site',
      'sensor',
      'start',
      'start_ms',
      'step_ms',
      'count',
      'field',
      'min',
      'max',
      'mean',
    ]);
    // r1: 6 buckets x mm; t1: 6 buckets x (x, y).
    expect(rows.filter((r) => r[1] === 'r1')).toHaveLength(6);
    expect(rows.filter((r) => r[1] === 't1')).toHaveLength(12);
    expect(rows.find((r) => r[1] === 't1' && r[6] === 'x')).toEqual([
      'slope-a',
      't1',
      new Date(T0).toISOString(),
      String(T0),
      '600000',
      '20',
      'x',
      '0',
      '19',
      '9.5',
    ]);
  });

  it('streams readings as NDJSON, one object per sensor and bucket, for one sensor on request', async () => {
    const res = await get(
      `slope-a/readings?from=${T0}&to=${T0 + HOUR - 1}&stepMs=1800000&format=ndjson&sensor=t1`,
    );
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      {
        site: 'slope-a',
        sensor: 't1',
        start: T0,
        stepMs: 1_800_000,
        count: 60,
        values: { x: { min: 0, max: 59, mean: 29.5 }, y: { min: 0, max: 0, mean: 0 } },
      },
      {
        site: 'slope-a',
        sensor: 't1',
        start: T0 + 1_800_000,
        stepMs: 1_800_000,
        count: 60,
        values: { x: { min: 60, max: 119, mean: 89.5 }, y: { min: 0, max: 0, mean: 0 } },
      },
    ]);
  });

  it('reads a long span one day of buckets at a time', async () => {
    calls.length = 0;
    const from = T0 - 399 * 24 * HOUR;
    const res = await get(
      `slope-a/readings?from=${from}&to=${T0 + HOUR - 1}&stepMs=3600000&sensor=t1&format=ndjson`,
    );
    const lines = (await res.text()).trim().split('\n');
    expect(lines).toHaveLength(1); // the one hour with readings
    const buckets = calls.map((q) => (q.to - q.from + 1) / (q.stepMs ?? 1));
    // 9,601 hourly buckets in chunks of at most 1,440: 7 queries, none larger than a chunk.
    expect(calls).toHaveLength(7);
    expect(Math.max(...buckets)).toBeLessThanOrEqual(1440);
    expect(calls[0]?.from).toBe(from);
    expect(calls.at(-1)?.to).toBe(T0 + HOUR - 1);
  });

  it("exports the level history without operators' names or words", async () => {
    const res = await get(`slope-a/levels?from=${T0}&to=${T0 + HOUR}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain('kim.operator');
    expect(text).not.toContain('010-1234');
    const [header, ...rows] = csv(text);
    expect(header).toEqual(['site', 'time', 'time_ms', 'alert', 'event', 'level', 'data_state']);
    expect(rows.map((r) => [r[2], r[4], r[5], r[6]])).toEqual([
      [String(T0 + 60_000), 'opened', '1', 'live'],
      [String(T0 + 120_000), 'level', '3', 'live'],
      [String(T0 + 180_000), 'data_state', '3', 'no_data'],
      [String(T0 + 240_000), 'level', '0', 'live'],
      [String(T0 + 240_000), 'data_state', '0', 'live'],
      [String(T0 + 240_000), 'cleared', '0', 'live'],
    ]);
    const nd = await get(`slope-a/levels?from=${T0 + 100_000}&to=${T0 + 200_000}&format=ndjson`);
    const lines = (await nd.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.site, l.event, l.level, l.dataState])).toEqual([
      ['slope-a', 'level', 3, 'live'],
      ['slope-a', 'data_state', 3, 'no_data'],
    ]);
  });

  it('audits every export with who, from where and what', async () => {
    const records = [...center.audit.iterate()].filter((r) => r.action === 'open_data.export');
    expect(records.length).toBeGreaterThanOrEqual(5);
    expect(records.every((r) => r.actor === 'token:data-portal' && r.outcome === 'ok')).toBe(true);
    expect(records.every((r) => r.address === '127.0.0.1' && r.target === 'slope-a')).toBe(true);
    expect(records.map((r) => r.detail.kind)).toContain('levels');
    expect(records.find((r) => r.detail.kind === 'readings')?.detail).toMatchObject({
      format: 'csv',
      stepMs: 600_000,
    });
  });

  it('streams raw readings as CSV: one line per reading and field, as stored', async () => {
    const res = await get(`slope-a/readings/raw?from=${T0}&to=${T0 + HOUR}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="slope-a-readings-raw.csv"');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const [header, ...rows] = csv(await res.text());
    expect(header).toEqual([
      'site',
      'sensor',
      'kind',
      'gateway',
      'time',
      'time_ms',
      'quality',
      'field',
      'value',
    ]);
    // Sensors in order (r1, t1), each oldest first; both ends of the range included.
    const r1 = rows.filter((r) => r[1] === 'r1');
    expect(r1.map((r) => [Number(r[5]) - T0, r[3], r[6], r[7], r[8]])).toEqual([
      ...Array.from({ length: 6 }, (_, i) => [i * 600_000, 'gw-1', '', 'mm', '1']),
      [HOUR, 'gw-2', 'suspect', 'mm', '0.5'],
    ]);
    const t1 = rows.filter((r) => r[1] === 't1');
    expect(t1).toHaveLength(240);
    expect(t1.slice(0, 4)).toEqual([
      ['slope-a', 't1', 'tilt', 'gw-1', new Date(T0).toISOString(), String(T0), '', 'x', '0'],
      ['slope-a', 't1', 'tilt', 'gw-1', new Date(T0).toISOString(), String(T0), '', 'y', '0'],
      [
        'slope-a',
        't1',
        'tilt',
        'gw-1',
        new Date(T0 + 30_000).toISOString(),
        String(T0 + 30_000),
        '',
        'x',
        '1',
      ],
      [
        'slope-a',
        't1',
        'tilt',
        'gw-1',
        new Date(T0 + 30_000).toISOString(),
        String(T0 + 30_000),
        '',
        'y',
        '0',
      ],
    ]);
    expect(rows.findIndex((r) => r[1] === 't1')).toBe(r1.length);
  });

  it('streams raw readings as NDJSON, one object per reading, for one sensor', async () => {
    const res = await get(
      `slope-a/readings/raw?from=${T0 + 30_000}&to=${T0 + 90_000}&sensor=t1&format=ndjson`,
    );
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual(
      [1, 2, 3].map((i) => ({
        site: 'slope-a',
        sensor: 't1',
        kind: 'tilt',
        gateway: 'gw-1',
        ts: T0 + i * 30_000,
        values: { x: i, y: 0 },
      })),
    );
    const nd = await get(`slope-a/readings/raw?from=${T0 + HOUR}&to=${T0 + HOUR}&format=ndjson`);
    expect(JSON.parse(await nd.text())).toMatchObject({ sensor: 'r1', q: 'suspect', gateway: 'gw-2' });
  });

  it('refuses a raw export without a token, over 31 days, or of an unknown sensor', async () => {
    expect((await get(`slope-a/readings/raw?from=${T0}`, false)).status).toBe(401);
    const long = await get(`slope-a/readings/raw?from=${T0 - 32 * 24 * HOUR}&to=${T0}`);
    expect([long.status, ((await long.json()) as { error: string }).error]).toEqual([
      400,
      'SG_ERR_RANGE_TOO_LONG',
    ]);
    const nope = await get(`slope-a/readings/raw?from=${T0}&sensor=nope`);
    expect(nope.status).toBe(404);
    const records = [...center.audit.iterate()].filter(
      (r) => r.action === 'open_data.export' && r.detail.kind === 'readings_raw',
    );
    expect(records.length).toBeGreaterThanOrEqual(3);
    expect(records[0]).toMatchObject({ actor: 'token:data-portal', outcome: 'ok', target: 'slope-a' });
    expect(records[0]?.detail).toMatchObject({ format: 'csv', from: T0, to: T0 + HOUR, sensors: 2 });
  });

  it('reads the store no faster than the client takes the export (back-pressure)', async () => {
    const url = `${center.url}api/v1/open-data/sites/slope-big/readings/raw?from=${T0}&to=${T0 + BIG}`;
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      httpGet(url, { headers: { authorization: `Bearer ${token}` } }, resolve).on('error', reject),
    );
    expect(res.statusCode).toBe(200);
    // The client takes one chunk, then stops reading.
    await new Promise((r) => res.once('data', r));
    res.pause();
    // Wait until the server stops asking the store for pages (unchanged for half a second): what
    // it read by then fills the socket buffers and one page, not the 200 pages of the export.
    let seen = -1;
    for (let i = 0; i < 60 && rawPages.get('slope-big') !== seen; i++) {
      seen = rawPages.get('slope-big') ?? 0;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(seen).toBeGreaterThan(0);
    expect(seen).toBeLessThan(50);
    // Read on: the whole export arrives, every reading once, in order.
    let lines = 0;
    let tail = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      const text = tail + chunk;
      const parts = text.split('\r\n');
      tail = parts.pop() ?? '';
      lines += parts.length;
    });
    res.resume();
    await new Promise((r) => res.once('end', r));
    // The lines of the first chunk were not counted; the total is checked through the store pages.
    expect(rawPages.get('slope-big')).toBe(BIG / 1000);
    expect(lines).toBeGreaterThan(4 * BIG * 0.9);
    expect(tail).toBe('');
  }, 120_000);

  it('refuses bad requests with registered codes before streaming anything', async () => {
    const cases: Array<[string, number, string]> = [
      [`slope-a/readings?from=${T0}&format=xml`, 400, 'SG_ERR_BAD_REQUEST'],
      [`slope-a/readings?from=${T0}&stepMs=500`, 400, 'SG_ERR_BAD_REQUEST'],
      [`slope-a/readings?from=${T0 - 300 * 24 * HOUR}&to=${T0}&stepMs=1000`, 400, 'SG_ERR_RANGE_TOO_LONG'],
      [`slope-a/readings?from=${T0}&to=${T0 - 1}`, 400, 'SG_ERR_RANGE_ORDER'],
      [`slope-a/readings?from=${T0}&sensor=nope`, 404, 'SG_ERR_NO_SENSOR'],
      [`nowhere/readings?from=${T0}`, 404, 'SG_ERR_NO_SITE'],
      [`nowhere/levels?from=${T0}`, 404, 'SG_ERR_NO_SITE'],
    ];
    for (const [path, status, code] of cases) {
      const res = await get(path);
      expect({ path, status: res.status, body: await res.json() }).toMatchObject({
        path,
        status,
        body: { error: code },
      });
    }
    await store.close();
    const down = await get(`slope-a/readings?from=${T0}`);
    expect([down.status, ((await down.json()) as { error: string }).error]).toEqual([
      503,
      'SG_ERR_STORE_UNAVAILABLE',
    ]);
  });

  it('writes CSV cells that a spreadsheet cannot run', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell(-1.5)).toBe('-1.5');
    expect(csvCell(Number.NaN)).toBe('');
  });
});
