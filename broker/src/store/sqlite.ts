import { DatabaseSync } from 'node:sqlite';
import { BrokerError } from '../errors.ts';
import { ensurePrivateFile } from '../files.ts';
import { type EncodedBatch, encodeBatch, forEachEncoded } from './sqlite-batch.ts';
import { ingestSchema, ingestWriter, PARTITIONS, partitionOf, perPartition } from './sqlite-ingest.ts';
import { type Row, sqliteReadings, toReading } from './sqlite-readings.ts';
import { type Bucket, bucketStep, type RangeQuery, type Store } from './types.ts';

export interface SqliteStoreOptions {
  /**
   * `full` (default): every committed batch survives power loss (WAL fsync per commit).
   * `normal`: survives a crash of the process (kill -9) but a power cut may lose the last commits.
   */
  synchronous?: 'full' | 'normal';
  /** Ingest partitions merged into `readings` by a write that merges (default 1; tests: 64, every one). */
  mergesPerWrite?: number;
  /**
   * Every how many writes one merges (default 4, so a partition is merged every 256 writes; tests:
   * 1). Counted in memory from the store's opening (sqlite-ingest.ts).
   */
  writesPerMerge?: number;
  /** Called with the first error of a run of writes whose merge failed (the writes still commit). */
  onMergeError?: (err: Error) => void;
}

/**
 * The order of `latest` (ORDER BY site, sensor): SQLite's BINARY collation compares UTF-8 bytes,
 * which is code-unit order for the contract's ids (ASCII).
 */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Schema version 4 (docs/storage.md#sqlite). Sensors get a small integer id, so the readings'
 * primary key is (sid, ts): integer keys insert about a third faster than (site, sensor, ts) as
 * text, which matters at 50,000 readings/s. The key makes writes idempotent and a range query an
 * index range scan. "Latest reading per sensor" is one descent of that key per sensor (max(ts) of
 * a key prefix); version 2 kept it in a `latest` table upserted in every batch, which cost the
 * writer thread about a sixth of its time (docs/broker.md#performance) for a read the control
 * center makes at start. Version 4 adds the `ingest_NN` partitions, where writes land before they
 * are merged into `readings` in large sorted runs (sqlite-ingest.ts); every read looks at both.
 * Versions 2 and 3 are migrated (drop `latest`, add the partitions): same readings.
 */
const SCHEMA_VERSION = 4;
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
${ingestSchema()}`;

function checkVersion(db: DatabaseSync): void {
  const version = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  const hasReadings = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'readings'")
    .get();
  if (hasReadings && (version === 2 || version === 3)) {
    // Version 3 dropped the `latest` table (now read from `readings` by key); version 4 adds the
    // ingest partitions (SCHEMA, created right after this): same readings.
    db.exec(`BEGIN IMMEDIATE; DROP TABLE IF EXISTS latest; PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT`);
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
  // Writes land in the ingest partitions; the merge into `readings` keeps the last write of a key,
  // like InfluxDB's (measurement, tags, ts) overwrite (sqlite-ingest.ts).
  const ingest = ingestWriter(db);
  const mergesPerWrite = Math.max(1, Math.min(PARTITIONS, options.mergesPerWrite ?? 1));
  const writesPerMerge = Math.max(1, Math.floor(options.writesPerMerge ?? 4));
  /** Writes that reached their merge step since opening: the merge cadence. */
  let writes = 0;
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
  // Every row of a partition (at most its share of the last 256 writes), with its sensor's names.
  const recentFrom = (where: string) =>
    perPartition(
      db,
      (t) => `SELECT s.site AS site, s.sensor AS sensor, i.ts AS ts, i.gateway AS gateway, i.kind AS kind,
                     i.q AS q, i.vals AS vals, i.seq AS seq
              FROM ${t} i JOIN sensors s ON s.sid = i.sid ${where}`,
    );
  const recentAll = recentFrom('');
  const recentSite = recentFrom('WHERE s.site = ?');
  // Keys in `readings`, plus, per partition, keys only there (each once).
  const countFrom = (sids: string) => ({
    merged: db.prepare(`SELECT count(*) AS n FROM readings WHERE ${sids}`),
    recent: perPartition(
      db,
      (t) => `SELECT count(*) AS n FROM (SELECT sid, ts FROM ${t} WHERE ${sids} GROUP BY sid, ts) k
              WHERE NOT EXISTS (SELECT 1 FROM readings r WHERE r.sid = k.sid AND r.ts = k.ts)`,
    ),
  });
  const countAll = countFrom('true');
  const countSite = countFrom('sid IN (SELECT sid FROM sensors WHERE site = ?)');
  // One sensor's rows in [from, to] from `readings` and its partition (the partition's last write
  // of a ts wins), then the buckets.
  const rangeOf = perPartition(
    db,
    (t) => `WITH recent(ts, vals) AS MATERIALIZED (
              SELECT ts, vals FROM (
                SELECT ts, vals, max(seq) FROM ${t} WHERE sid = :sid AND ts BETWEEN :from AND :to GROUP BY ts)
            ),
            rows(ts, vals) AS (
              SELECT r.ts, r.vals FROM readings r
              WHERE r.sid = :sid AND r.ts BETWEEN :from AND :to AND r.ts NOT IN (SELECT ts FROM recent)
              UNION ALL
              SELECT ts, vals FROM recent
            )
            SELECT (rows.ts - CAST(:from AS INTEGER)) / CAST(:step AS INTEGER) AS b, j.key AS field,
                   min(j.value) AS mn, max(j.value) AS mx, avg(j.value) AS av, count(*) AS n
            FROM rows, json_each(rows.vals) j
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
        ingest.append(sid, r.ts, r.gateway, r.kind, r.q, r.vals);
      });
      // Writes between merges leave the failure state as the last merge left it.
      const merges = writes++ % writesPerMerge === 0;
      let merged = true;
      if (merges) for (let i = 0; i < mergesPerWrite; i++) merged = mergeNext() && merged;
      db.exec('COMMIT');
      if (merges && merged) mergeFailing = false;
    } catch (err) {
      db.exec('ROLLBACK');
      // Sensor ids added in the rolled-back transaction are gone again.
      sids.clear();
      throw new BrokerError('SG_ERR_STORE_WRITE', `SQLite write failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** A merge failed in the last write (so the next failure is not reported again). */
  let mergeFailing = false;

  /**
   * The next partition's merge inside the write's transaction, under a savepoint: if it fails
   * (disk full), it alone is undone and the write still commits; that partition's rows stay
   * readable where they are and are merged on its next turn. Returns false if it failed.
   */
  function mergeNext(): boolean {
    db.exec('SAVEPOINT merge');
    try {
      ingest.mergeNext();
      db.exec('RELEASE merge');
      return true;
    } catch (err) {
      db.exec('ROLLBACK TO merge');
      db.exec('RELEASE merge');
      // Reported once per run of writes whose merges fail, not once per write.
      if (!mergeFailing) options.onMergeError?.(err as Error);
      mergeFailing = true;
      return false;
    }
  }

  /** Runs `read` in one read transaction: both tables from one snapshot (a merge moves rows). */
  function snapshot<T>(read: () => T): T {
    db.exec('BEGIN');
    try {
      return read();
    } finally {
      db.exec('COMMIT');
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
      const site = filter?.site;
      const [merged, recent] = snapshot(() => {
        const recent: (Row & { seq: number })[] = [];
        for (let p = 0; p < PARTITIONS; p++) {
          const rows = site === undefined ? recentAll(p).all() : recentSite(p).all(site);
          for (const r of rows) recent.push(r as unknown as Row & { seq: number });
        }
        return [(site === undefined ? latestAll.all() : latestSite.all(site)) as unknown as Row[], recent];
      });
      if (recent.length === 0) return merged.map(toReading);
      // Per sensor the newest; on the same ts a partition's row (written later), and of two there
      // the higher seq (written last).
      const bySensor = new Map<string, Row & { seq?: number }>();
      for (const r of merged) bySensor.set(`${r.site}\u0000${r.sensor}`, r);
      for (const r of recent) {
        const key = `${r.site}\u0000${r.sensor}`;
        const old = bySensor.get(key);
        if (old === undefined || r.ts > old.ts || (r.ts === old.ts && r.seq > (old.seq ?? -1)))
          bySensor.set(key, r);
      }
      return [...bySensor.values()]
        .sort((a, b) => (a.site === b.site ? cmp(a.sensor, b.sensor) : cmp(a.site, b.site)))
        .map(toReading);
    },
    async range(q: RangeQuery) {
      check();
      const sid = sidOf(q.site, q.sensor, false);
      if (sid === undefined) return [];
      const step = bucketStep(q);
      const rows = rangeOf(partitionOf(sid)).all({ sid, from: q.from, to: q.to, step }) as unknown as {
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
    readings: sqliteReadings(db, check, snapshot),
    async count(filter) {
      check();
      const c = filter?.site === undefined ? countAll : countSite;
      const args = filter?.site === undefined ? [] : [filter.site];
      return snapshot(() => {
        let n = (c.merged.get(...args) as { n: number }).n;
        for (let p = 0; p < PARTITIONS; p++) n += (c.recent(p).get(...args) as { n: number }).n;
        return n;
      });
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
