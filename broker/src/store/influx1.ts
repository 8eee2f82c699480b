import { SENSOR_KINDS, type SensorKind } from '@slopeguard/core';
import { InfluxDB, escape as influxEscape } from 'influx';
import { BrokerError } from '../errors.ts';
import { countField, fromRow, MEASUREMENT, QUALITY_FIELD, toLine } from './line-protocol.ts';
import { type Bucket, bucketStep, type Store, type StoredReading } from './types.ts';

export interface Influx1StoreOptions {
  /** e.g. http://127.0.0.1:8086 */
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** Create the database if missing (default true). */
  createDatabase?: boolean;
  /** Request timeout, ms (default 10 s). */
  timeoutMs?: number;
}

/**
 * InfluxDB 1.x (tested against Debian's 1.6.7). Queries and database set-up go through the
 * `influx` package; writes POST the shared line-protocol mapping (line-protocol.ts) to /write
 * with precision=ms, because the `influx` package serialises points itself and cannot send lines
 * built elsewhere. A write resolves after InfluxDB answered 204, i.e. after its WAL has the points.
 */
export async function openInflux1Store(options: Influx1StoreOptions): Promise<Store> {
  const url = new URL(options.url);
  const influx = new InfluxDB({
    host: url.hostname,
    port: Number(url.port || 8086),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    database: options.database,
    username: options.username,
    password: options.password,
    options: { timeout: options.timeoutMs ?? 10_000 },
  });
  if (options.createDatabase ?? true) {
    // CREATE DATABASE is idempotent in InfluxDB 1.x.
    await influx.createDatabase(options.database);
  }
  const writeUrl = new URL('/write', url);
  writeUrl.searchParams.set('db', options.database);
  writeUrl.searchParams.set('precision', 'ms');
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (options.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  }
  let closed = false;
  const m = influxEscape.quoted(MEASUREMENT);
  const siteCond = (site?: string) =>
    site === undefined ? '' : ` WHERE "site" = ${influxEscape.stringLit(site)}`;

  function check(): void {
    if (closed) throw new BrokerError('SG_ERR_STORE_CLOSED', 'InfluxDB store is closed');
  }

  async function query<T>(q: string): Promise<T[]> {
    try {
      return (await influx.query(q, { precision: 'ms' })) as unknown as T[];
    } catch (err) {
      throw new BrokerError('SG_ERR_STORE_QUERY', `InfluxDB query failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  return {
    async write(batch) {
      check();
      if (batch.length === 0) return;
      let res: Response;
      try {
        res = await fetch(writeUrl, {
          method: 'POST',
          headers,
          body: batch.map(toLine).join('\n'),
          signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
        });
      } catch (err) {
        throw new BrokerError('SG_ERR_STORE_WRITE', `InfluxDB write failed: ${(err as Error).message}`, {
          cause: err,
        });
      }
      if (res.status !== 204) {
        const text = await res.text().catch(() => '');
        throw new BrokerError(
          'SG_ERR_STORE_WRITE',
          `InfluxDB write answered ${res.status}: ${text.slice(0, 300)}`,
        );
      }
    },

    async latest(filter) {
      check();
      // One row per (site, sensor): the newest point of the group, with its tags.
      const rows = await query<Record<string, unknown> & { time: Date }>(
        `SELECT * FROM ${m}${siteCond(filter?.site)} GROUP BY "site", "sensor" ORDER BY time DESC LIMIT 1`,
      );
      return rows
        .map((row) => {
          const { time, site, gateway, sensor, kind, ...fields } = row;
          return fromRow({
            site: String(site),
            gateway: String(gateway),
            sensor: String(sensor),
            kind: String(kind),
            ts: time.getTime(),
            fields,
          });
        })
        .sort((a, b) =>
          a.site === b.site ? a.sensor.localeCompare(b.sensor) : a.site.localeCompare(b.site),
        );
    },

    async range(q) {
      check();
      const step = bucketStep(q);
      const offset = ((q.from % step) + step) % step;
      // Buckets aligned to `from` (GROUP BY time with an offset); fill(none) omits empty ones.
      const rows = await query<Record<string, unknown> & { time: Date }>(
        `SELECT min(*), max(*), mean(*), count(*) FROM ${m} WHERE "site" = ${influxEscape.stringLit(q.site)} AND "sensor" = ${influxEscape.stringLit(q.sensor)} AND time >= ${Math.trunc(q.from)}ms AND time <= ${Math.trunc(q.to)}ms GROUP BY time(${step}ms, ${offset}ms) fill(none)`,
      );
      const buckets: Bucket[] = [];
      for (const row of rows) {
        const b: Bucket = { start: row.time.getTime(), count: 0, values: {} };
        for (const [col, v] of Object.entries(row)) {
          const match = /^(min|max|mean|count)_(.+)$/.exec(col);
          if (!match || typeof v !== 'number') continue;
          const [, fn, field] = match as unknown as [string, 'min' | 'max' | 'mean' | 'count', string];
          if (field === QUALITY_FIELD) continue;
          if (fn === 'count') {
            b.count = Math.max(b.count, v);
            continue;
          }
          b.values[field] ??= { min: Number.NaN, max: Number.NaN, mean: Number.NaN };
          const stats = b.values[field];
          if (stats) stats[fn] = v;
        }
        if (b.count > 0) buckets.push(b);
      }
      return buckets;
    },

    async count(filter) {
      check();
      // Every point carries its kind's first required field: count that per kind.
      const rows = await query<Record<string, unknown> & { kind: string }>(
        `SELECT count(*) FROM ${m}${siteCond(filter?.site)} GROUP BY "kind"`,
      );
      let n = 0;
      for (const row of rows) {
        if (!(SENSOR_KINDS as readonly string[]).includes(row.kind)) continue;
        const v = row[`count_${countField(row.kind as SensorKind)}`];
        if (typeof v === 'number') n += v;
      }
      return n;
    },

    async close() {
      closed = true;
    },
  };
}

export type { StoredReading };
