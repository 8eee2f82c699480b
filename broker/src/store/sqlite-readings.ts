import type { DatabaseSync } from 'node:sqlite';
import type { Quality, SensorKind } from '@slopeguard/core';
import { type ReadingsQuery, readingsPage, type StoredReading } from './types.ts';

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
    `SELECT ts, gateway, kind, q, vals FROM readings
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
        const rows = page.all(sid, from, to, size) as unknown as {
          ts: number;
          gateway: string;
          kind: string;
          q: string | null;
          vals: string;
        }[];
        if (rows.length === 0) return;
        yield rows.map((row) => {
          const r: StoredReading = {
            site: q.site,
            gateway: row.gateway,
            sensor: q.sensor,
            kind: row.kind as SensorKind,
            ts: row.ts,
            values: JSON.parse(row.vals) as Record<string, number>,
          };
          if (row.q !== null) r.q = row.q as Quality;
          return r;
        });
        if (rows.length < size) return;
        from = (rows[rows.length - 1] as { ts: number }).ts + 1;
      }
    },
  });
}
