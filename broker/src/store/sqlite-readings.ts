import type { DatabaseSync } from 'node:sqlite';
import type { Quality, SensorKind } from '@slopeguard/core';
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
 * primary key (sid, ts), a page at a time. Each page is one short SELECT from the last ts read
 * (keyset), so no statement or read transaction stays open while the consumer holds a page (a
 * slow download never pins the WAL), and the rows of a page are an index range scan.
 */
export function sqliteReadings(
  db: DatabaseSync,
  check: () => void,
): (q: ReadingsQuery) => AsyncIterable<StoredReading[]> {
  const sidOf = db.prepare('SELECT sid FROM sensors WHERE site = ? AND sensor = ?');
  const page = db.prepare(
    `SELECT ? AS site, ? AS sensor, ts, gateway, kind, q, vals FROM readings
     WHERE sid = ? AND ts >= ? AND ts <= ? ORDER BY ts LIMIT ?`,
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
        const rows = page.all(q.site, q.sensor, sid, from, to, size) as unknown as Row[];
        if (rows.length === 0) return;
        yield rows.map(toReading);
        if (rows.length < size) return;
        from = (rows[rows.length - 1] as { ts: number }).ts + 1;
      }
    },
  });
}
