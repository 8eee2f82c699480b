import type { DatabaseSync } from 'node:sqlite';
import type { Quality, SensorKind } from '@slopeguard/core';
import { partitionOf, perPartition } from './sqlite-ingest.ts';
import { type ReadingsQuery, readingsPage, type StoredReading } from './types.ts';

/** A row of `readings` joined with its sensor's (site, sensor), as the store's reads select it. */
export interface Row {
  site: string;
  sensor: string;
  ts: number;
  gateway: string;
  kind: string;
  q: string | null;
  vals: string;
}

export function toReading(row: Row): StoredReading {
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

/**
 * The SQLite store's raw read (Store.readings), apart from its write path: one sensor's rows by
 * key (sid, ts), a page at a time. A sensor's rows are in `readings` and, until the writer merges
 * them, in its ingest partition (sqlite-ingest.ts): each page reads up to a page from each table
 * (from one snapshot) and merges them by ts, the partition's row winning a tie, so a page is the
 * first rows of the union. Each page is short SELECTs from the last ts read (keyset), so no
 * statement or read transaction stays open while the consumer holds a page (a slow download never
 * pins the WAL).
 */
export function sqliteReadings(
  db: DatabaseSync,
  check: () => void,
  snapshot: <T>(read: () => T) => T,
): (q: ReadingsQuery) => AsyncIterable<StoredReading[]> {
  const sidOf = db.prepare('SELECT sid FROM sensors WHERE site = ? AND sensor = ?');
  const merged = db.prepare(
    `SELECT ? AS site, ? AS sensor, ts, gateway, kind, q, vals FROM readings
     WHERE sid = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?`,
  );
  // From the sensor's ingest partition, per ts the row written last (the bare columns come from
  // the max(seq) row).
  const recent = perPartition(
    db,
    (t) => `SELECT ? AS site, ? AS sensor, ts, gateway, kind, q, vals, max(seq) AS seq FROM ${t}
            WHERE sid = ? AND ts >= ? AND ts <= ? GROUP BY ts ORDER BY ts LIMIT ?`,
  );
  return (q) => ({
    async *[Symbol.asyncIterator]() {
      check();
      const sid = (sidOf.get(q.site, q.sensor) as { sid: number } | undefined)?.sid;
      if (sid === undefined) return;
      const size = readingsPage(q);
      let from = Math.trunc(q.from);
      const to = Math.trunc(q.to);
      while (from <= to) {
        check();
        const args = [q.site, q.sensor, sid, from, to, size] as const;
        const [a, b] = snapshot(() => [
          merged.all(...args),
          recent(partitionOf(sid)).all(...args),
        ]) as unknown as [Row[], Row[]];
        const rows = mergeByTs(a, b, size);
        if (rows.length === 0) return;
        yield rows.map(toReading);
        // Less than a page: both tables had fewer rows than a page from `from` on, all of them here.
        if (rows.length < size) return;
        from = (rows[rows.length - 1] as Row).ts + 1;
      }
    },
  });
}

/** The first `size` rows of two ts-sorted lists; on the same ts, `b`'s row only. */
function mergeByTs(a: readonly Row[], b: readonly Row[], size: number): Row[] {
  const out: Row[] = [];
  let i = 0;
  let j = 0;
  while (out.length < size && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && x.ts < y.ts)) {
      out.push(x as Row);
      i++;
    } else {
      if (x !== undefined && x.ts === y.ts) i++;
      out.push(y);
      j++;
    }
  }
  return out;
}
