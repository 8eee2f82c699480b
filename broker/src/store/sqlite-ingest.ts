import type { DatabaseSync, StatementSync } from 'node:sqlite';

/**
 * The SQLite store's two-level write path (docs/storage.md#sqlite, schema version 4).
 *
 * `readings` is clustered by (sid, ts), so a batch holding one reading each of N sensors dirtied N
 * pages, one per sensor, and the COMMIT wrote each of them (4 KiB) to the WAL: 5 MB per 1,000
 * readings with 5,000 sensors, which held the store near 35,000 readings/s (docs/broker.md).
 *
 * So a write appends its rows to `ingest_00` .. `ingest_63` instead, the sensor's partition being
 * `sid % 64`: rowid tables without an index, each row going to the end of its table's B-tree. That
 * commit is what makes the write durable. Every fourth write (`writesPerMerge`, sqlite.ts) then also
 * merges ONE partition, the next in turn, into `readings` (sorted by sid, ts, seq, so each of its
 * sensors' pages is written once) and empties it. A partition is merged every 256 writes, so each
 * sensor's page of `readings` is written once per 256 writes instead of once per write, and
 * `ingest` never holds more than the last 256 writes. The merge runs in the write's transaction
 * under a savepoint: one fsync for both, and a merge that fails (disk full) is undone alone while
 * the write commits; that partition waits for its next turn.
 *
 * Measured on the writer's SQL alone (5,000-reading batches of 5,000 sensors, 1,500,000 readings;
 * docs/broker.md): with a merge on every write, 3.4 ms of CPU per 1,000 readings and p99 102 ms per
 * batch, against 6.2 ms and 171 ms for one ingest table with a (sid, ts) index merged by sensor
 * ranges, whose index took most of the time. The merge, not the append, wrote most of the WAL: a
 * 5,000-reading write with a merge wrote about 800 pages, one without about 180, and a merge of a
 * partition holding four times the rows wrote about 1,060 (each sensor's pages are dirtied once
 * either way). So merging every fourth write cut the store's CPU per 1,000 readings by about a
 * third (session 8, store/sqlite.ts through `store.write`, 10,000 sensors: 5.0-6.9 ms with a merge
 * every write, 3.2-3.7 ms every fourth).
 *
 * Reads see `readings` and the sensor's partition together (sqlite.ts, sqlite-readings.ts): for
 * a (sid, ts) in both, or twice in the partition, the partition's row with the highest seq wins,
 * which is the last one written.
 */
export const PARTITIONS = 64;

/** The partition table of a sensor id. */
export function partitionOf(sid: number): number {
  return sid % PARTITIONS;
}

export function ingestTable(p: number): string {
  return `ingest_${String(p).padStart(2, '0')}`;
}

/**
 * CREATE statements of every partition, and of `all_readings`: the view for readers of the file
 * other than the store (the sqlite3 shell, a dashboard's SQLite source), which shows `readings` and
 * the partitions as one table with the store's rule (the last write of a key).
 */
export function ingestSchema(): string {
  let sql = '';
  const recent: string[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    sql += `CREATE TABLE IF NOT EXISTS ${ingestTable(p)} (
  seq INTEGER PRIMARY KEY, sid INTEGER NOT NULL, ts INTEGER NOT NULL,
  gateway TEXT NOT NULL, kind TEXT NOT NULL, q TEXT, vals TEXT NOT NULL
);
`;
    recent.push(`SELECT sid, ts, gateway, kind, q, vals, seq FROM ${ingestTable(p)}`);
  }
  // A sensor's rows are all in one partition, so max(seq) per (sid, ts) over the union is its last
  // write; the bare columns come from that row.
  sql += `CREATE VIEW IF NOT EXISTS all_readings (sid, ts, gateway, kind, q, vals) AS
WITH recent AS (${recent.join(' UNION ALL ')}),
last AS (SELECT sid, ts, gateway, kind, q, vals, max(seq) FROM recent GROUP BY sid, ts)
SELECT sid, ts, gateway, kind, q, vals FROM readings WHERE (sid, ts) NOT IN (SELECT sid, ts FROM last)
UNION ALL SELECT sid, ts, gateway, kind, q, vals FROM last;
`;
  return sql;
}

/** One statement per partition, prepared when first used. */
export function perPartition(db: DatabaseSync, sql: (table: string) => string): (p: number) => StatementSync {
  const cache: (StatementSync | undefined)[] = new Array(PARTITIONS);
  return (p) => {
    let s = cache[p];
    if (s === undefined) {
      s = db.prepare(sql(ingestTable(p)));
      cache[p] = s;
    }
    return s;
  };
}

const UPSERT = `ON CONFLICT (sid, ts) DO UPDATE SET gateway = excluded.gateway, kind = excluded.kind,
  q = excluded.q, vals = excluded.vals`;

export interface IngestWriter {
  /** Appends one row to its sensor's partition (inside the caller's transaction). */
  append(sid: number, ts: number, gateway: string, kind: string, q: string | null, vals: string): void;
  /**
   * Merges the next partition in turn into `readings` and empties it (inside the caller's
   * transaction). Throws on a database error; the turn moves on either way.
   */
  mergeNext(): void;
}

export function ingestWriter(db: DatabaseSync): IngestWriter {
  const insert = perPartition(
    db,
    (t) => `INSERT INTO ${t} (sid, ts, gateway, kind, q, vals) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  // `WHERE true`: an upsert's SELECT needs a WHERE clause (SQLite's parsing of ON CONFLICT).
  const merge = perPartition(
    db,
    (t) => `INSERT INTO readings (sid, ts, gateway, kind, q, vals)
            SELECT sid, ts, gateway, kind, q, vals FROM ${t} WHERE true ORDER BY sid, ts, seq ${UPSERT}`,
  );
  // No WHERE: SQLite empties the table without visiting its rows.
  const empty = perPartition(db, (t) => `DELETE FROM ${t}`);
  // In memory only: after a restart the turns start again from partition 0.
  let turn = 0;
  return {
    append(sid, ts, gateway, kind, q, vals) {
      insert(partitionOf(sid)).run(sid, ts, gateway, kind, q, vals);
    },
    mergeNext() {
      const p = turn;
      turn = (turn + 1) % PARTITIONS;
      merge(p).run();
      empty(p).run();
    },
  };
}
