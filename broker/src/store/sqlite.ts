import { DatabaseSync } from 'node:sqlite';
import { BrokerError } from '../errors.ts';
import { ensurePrivateFile } from '../files.ts';
import { type EncodedBatch, encodeBatch, forEachEncoded } from './sqlite-batch.ts';
import { type Row, sqliteReadings, toReading } from './sqlite-readings.ts';
import { type Bucket, bucketStep, type RangeQuery, type Store } from './types.ts';

export interface SqliteStoreOptions {
  /**
   * `full` (default): every committed batch survives power loss (WAL fsync per commit).
   * `normal`: survives a crash of the process (kill -9) but a power cut may lose the last commits.
   */
  synchronous?: 'full' | 'normal';
}

/**
 * Schema version 3 (docs/storage.md#sqlite). Sensors get a small integer id, so the readings'
 * primary key is (sid, ts): integer keys insert about a third faster than (site, sensor, ts) as
 * text, which matters at 50,000 readings/s. The key makes writes idempotent and a range query an
 * index range scan. "Latest reading per sensor" is one descent of that key per sensor (max(ts) of
 * a key prefix); version 2 kept it in a `latest` table upserted in every batch, which cost the
 * writer thread about a sixth of its time (docs/broker.md#performance) for a read the control
 * center makes at start. A version 2 file is migrated by dropping that table.
 */
const SCHEMA_VERSION = 3;
/** Page cache per connection (KiB) and WAL pages between automatic checkpoints: see openSqliteStore. */
const CACHE_KIB = 65_536;
const CHECKPOINT_PAGES = 10_000;
const SCHEMA = `
CREATE TABLE IF NOT EXISTS sensors (
  sid INTEGER PRIMARY KEY, site TEXT NOT NULL, sensor TEXT NOT NULL, UNIQUE (site, sensor)
);
CREATE TABLE IF NOT EXISTS readings (
  sid INTEGER NOT NULL, ts INTEGER NOT NULL,
  gateway TEXT NOT NULL, kind TEXT NOT NULL, q TEXT, vals TEXT NOT NULL,
  PRIMARY KEY (sid, ts)
) WITHOUT ROWID;
`;

function checkVersion(db: DatabaseSync): void {
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  const hasReadings = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'")
    .get();
  if (hasReadings && version === 2) {
    // Version 3 only drops the `latest` table (now read from `readings` by key): same data.
    db.exec('BEGIN IMMEDIATE; DROP TABLE IF EXISTS latest; PRAGMA user_version = 3; COMMIT');
    return;
  }
  if (hasReadings && version !== SCHEMA_VERSION) {
    throw new BrokerError(
      'SG_ERR_STORE_SCHEMA',
      `SQLite store ${db.location() ?? ''} has schema version ${version}, expected ${SCHEMA_VERSION}: use a new file`,
    );
  }
}

/** The SQLite store, and its write in the form the writer thread receives (sqlite-batch.ts). */
export interface SqliteStore extends Store {
  /** Store.write of an already encoded batch, synchronously: the writer thread's entry. */
  writeEncoded(batch: EncodedBatch): void;
}

/** The embedded default store: node:sqlite in WAL mode. Creates the file's directory. */
export function openSqliteStore(path: string, options: SqliteStoreOptions = {}): SqliteStore {
  ensurePrivateFile(path);
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec(`PRAGMA synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec('PRAGMA busy_timeout = 5000');
  // Readings are clustered by (sensor, ts), so a batch with one reading each of N sensors dirties
  // about N pages, one per sensor (docs/broker.md#performance): with the default 2 MiB cache
  // (500 pages) a batch of 5,000 readings spilled and re-read pages mid-transaction. 64 MiB holds
  // the newest page of ~16,000 sensors. Pages are allocated as used, so a small site pays little.
  db.exec(`PRAGMA cache_size = -${CACHE_KIB}`);
  // The same pages are rewritten by every batch; checkpointing every 1,000 WAL pages (the default)
  // copied each of them into the database file (and fsynced it) about every commit. Every 10,000
  // pages (40 MiB of WAL), a page rewritten by several commits is copied once; the WAL file is
  // cut back to that size after a checkpoint.
  db.exec(`PRAGMA wal_autocheckpoint = ${CHECKPOINT_PAGES}`);
  db.exec(`PRAGMA journal_size_limit = ${CHECKPOINT_PAGES * 4096}`);
  try {
    checkVersion(db);
  } catch (err) {
    db.close();
    throw err;
  }
  db.exec(SCHEMA);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);

  const findSid = db.prepare('SELECT sid FROM sensors WHERE site = ? AND sensor = ?');
  const addSensor = db.prepare('INSERT INTO sensors (site, sensor) VALUES (?, ?) RETURNING sid');
  // Last write wins on a duplicate key, like InfluxDB's (measurement, tags, ts) overwrite.
  const insert = db.prepare(
    `INSERT INTO readings (sid, ts, gateway, kind, q, vals) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (sid, ts) DO UPDATE SET gateway = excluded.gateway, kind = excluded.kind,
       q = excluded.q, vals = excluded.vals`,
  );
  // Per sensor, max(ts) under the key prefix sid is one B-tree descent, and the row one more.
  const latestFrom = (where: string) =>
    db.prepare(
      `SELECT s.site AS site, s.sensor AS sensor, r.ts AS ts, r.gateway AS gateway, r.kind AS kind,
              r.q AS q, r.vals AS vals
       FROM sensors s JOIN readings r
         ON r.sid = s.sid AND r.ts = (SELECT max(m.ts) FROM readings m WHERE m.sid = s.sid)
       ${where} ORDER BY s.site, s.sensor`,
    );
  const latestAll = latestFrom('');
  const latestSite = latestFrom('WHERE s.site = ?');
  const countAll = db.prepare('SELECT count(*) AS n FROM readings');
  const countSite = db.prepare(
    'SELECT count(*) AS n FROM readings WHERE sid IN (SELECT sid FROM sensors WHERE site = ?)',
  );
  const rangeStmt = db.prepare(
    `SELECT (r.ts - CAST(? AS INTEGER)) / CAST(? AS INTEGER) AS b, j.key AS field, min(j.value) AS mn,
            max(j.value) AS mx, avg(j.value) AS av, count(*) AS n
     FROM readings r, json_each(r.vals) j
     WHERE r.sid = ? AND r.ts BETWEEN ? AND ?
     GROUP BY b, field ORDER BY b`,
  );
  // site -> sensor -> sid; sensors are never deleted, so the cache cannot go stale. Two levels
  // rather than one `${site}\u0000${sensor}` key: no string built per reading.
  const sids = new Map<string, Map<string, number>>();
  let closed = false;

  function check(): void {
    if (closed) throw new BrokerError('SG_ERR_STORE_CLOSED', 'SQLite store is closed');
  }

  function sensorsOf(site: string): Map<string, number> {
    let m = sids.get(site);
    if (!m) {
      m = new Map();
      sids.set(site, m);
    }
    return m;
  }

  function sidOf(site: string, sensor: string, create: boolean): number | undefined {
    const m = sensorsOf(site);
    let sid = m.get(sensor);
    if (sid !== undefined) return sid;
    sid = (findSid.get(site, sensor) as { sid: number } | undefined)?.sid;
    if (sid === undefined && create) sid = (addSensor.get(site, sensor) as { sid: number }).sid;
    if (sid !== undefined) m.set(sensor, sid);
    return sid;
  }

  function writeEncoded(b: EncodedBatch): void {
    db.exec('BEGIN IMMEDIATE');
    try {
      // Consecutive readings mostly share a site: its sensor map is looked up once per run of them.
      let site: string | undefined;
      let sensors: Map<string, number> | undefined;
      forEachEncoded(b, (r) => {
        if (sensors === undefined || r.site !== site) {
          site = r.site;
          sensors = sensorsOf(site);
        }
        const sid = sensors.get(r.sensor) ?? (sidOf(r.site, r.sensor, true) as number);
        insert.run(sid, r.ts, r.gateway, r.kind, r.q, r.vals);
      });
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      // Sensor ids added in the rolled-back transaction are gone again.
      sids.clear();
      throw new BrokerError('SG_ERR_STORE_WRITE', `SQLite write failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  return {
    async write(batch) {
      check();
      if (batch.length > 0) writeEncoded(encodeBatch(batch));
    },
    writeEncoded(batch) {
      check();
      if (batch.n > 0) writeEncoded(batch);
    },
    async latest(filter) {
      check();
      const rows = (filter?.site === undefined
        ? latestAll.all()
        : latestSite.all(filter.site)) as unknown as Row[];
      return rows.map(toReading);
    },
    async range(q: RangeQuery) {
      check();
      const sid = sidOf(q.site, q.sensor, false);
      if (sid === undefined) return [];
      const step = bucketStep(q);
      const rows = rangeStmt.all(q.from, step, sid, q.from, q.to) as unknown as {
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
    readings: sqliteReadings(db, check),
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
