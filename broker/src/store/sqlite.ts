import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Quality, SensorKind } from '@slopeguard/core';
import { BrokerError } from '../errors.ts';
import { type Bucket, bucketStep, type RangeQuery, type Store, type StoredReading } from './types.ts';

export interface SqliteStoreOptions {
  /**
   * `full` (default): every committed batch survives power loss (WAL fsync per commit).
   * `normal`: survives a crash of the process (kill -9) but a power cut may lose the last commits.
   */
  synchronous?: 'full' | 'normal';
}

/**
 * Schema (docs/storage.md). `readings` is keyed by (site, sensor, ts), which makes writes idempotent
 * and range queries an index range scan; `latest` is maintained in the same transaction so that
 * "latest reading per sensor" never scans history.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS readings (
  site TEXT NOT NULL, sensor TEXT NOT NULL, ts INTEGER NOT NULL,
  gateway TEXT NOT NULL, kind TEXT NOT NULL, q TEXT, vals TEXT NOT NULL,
  PRIMARY KEY (site, sensor, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS latest (
  site TEXT NOT NULL, sensor TEXT NOT NULL, ts INTEGER NOT NULL,
  gateway TEXT NOT NULL, kind TEXT NOT NULL, q TEXT, vals TEXT NOT NULL,
  PRIMARY KEY (site, sensor)
) WITHOUT ROWID;
`;

interface Row {
  site: string;
  sensor: string;
  ts: number;
  gateway: string;
  kind: string;
  q: string | null;
  vals: string;
}

function toReading(row: Row): StoredReading {
  const r: StoredReading = {
    site: row.site,
    gateway: row.gateway,
    sensor: row.sensor,
    kind: row.kind as SensorKind,
    ts: row.ts,
    values: JSON.parse(row.vals) as Record<string, number>,
  };
  if (row.q !== null) r.q = row.q as Quality;
  return r;
}

/** The embedded default store: node:sqlite in WAL mode. Creates the file's directory. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(`PRAGMA synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec(SCHEMA);

  // Last write wins on a duplicate key, like InfluxDB's (measurement, tags, ts) overwrite.
  const insert = db.prepare(
    `INSERT INTO readings (site, sensor, ts, gateway, kind, q, vals) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (site, sensor, ts) DO UPDATE SET gateway = excluded.gateway, kind = excluded.kind,
       q = excluded.q, vals = excluded.vals`,
  );
  const upsertLatest = db.prepare(
    `INSERT INTO latest (site, sensor, ts, gateway, kind, q, vals) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (site, sensor) DO UPDATE SET ts = excluded.ts, gateway = excluded.gateway,
       kind = excluded.kind, q = excluded.q, vals = excluded.vals
     WHERE excluded.ts >= latest.ts`,
  );
  const latestAll = db.prepare('SELECT * FROM latest ORDER BY site, sensor');
  const latestSite = db.prepare('SELECT * FROM latest WHERE site = ? ORDER BY sensor');
  const countAll = db.prepare('SELECT count(*) AS n FROM readings');
  const countSite = db.prepare('SELECT count(*) AS n FROM readings WHERE site = ?');
  const rangeStmt = db.prepare(
    `SELECT (r.ts - CAST(? AS INTEGER)) / CAST(? AS INTEGER) AS b, j.key AS field, min(j.value) AS mn, max(j.value) AS mx,
            avg(j.value) AS av, count(*) AS n
     FROM readings r, json_each(r.vals) j
     WHERE r.site = ? AND r.sensor = ? AND r.ts BETWEEN ? AND ?
     GROUP BY b, field ORDER BY b`,
  );
  let closed = false;

  function check(): void {
    if (closed) throw new BrokerError('SG_ERR_STORE_CLOSED', 'SQLite store is closed');
  }

  function writeSync(batch: readonly StoredReading[]): void {
    db.exec('BEGIN IMMEDIATE');
    try {
      for (const r of batch) {
        const vals = JSON.stringify(r.values);
        const q = r.q ?? null;
        insert.run(r.site, r.sensor, r.ts, r.gateway, r.kind, q, vals);
        upsertLatest.run(r.site, r.sensor, r.ts, r.gateway, r.kind, q, vals);
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw new BrokerError('SG_ERR_STORE_WRITE', `SQLite write failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  return {
    async write(batch) {
      check();
      if (batch.length > 0) writeSync(batch);
    },
    async latest(filter) {
      check();
      const stmt: StatementSync = filter?.site === undefined ? latestAll : latestSite;
      const rows = (filter?.site === undefined ? stmt.all() : stmt.all(filter.site)) as unknown as Row[];
      return rows.map(toReading);
    },
    async range(q: RangeQuery) {
      check();
      const step = bucketStep(q);
      const rows = rangeStmt.all(q.from, step, q.site, q.sensor, q.from, q.to) as unknown as {
        b: number;
        field: string;
        mn: number;
        mx: number;
        av: number;
        n: number;
      }[];
      const buckets: Bucket[] = [];
      for (const row of rows) {
        const start = q.from + row.b * step;
        let last = buckets[buckets.length - 1];
        if (last === undefined || last.start !== start) {
          last = { start, count: 0, values: {} };
          buckets.push(last);
        }
        last.count = Math.max(last.count, row.n);
        last.values[row.field] = { min: row.mn, max: row.mx, mean: row.av };
      }
      return buckets;
    },
    async count(filter) {
      check();
      const row = (filter?.site === undefined ? countAll.get() : countSite.get(filter.site)) as { n: number };
      return row.n;
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
