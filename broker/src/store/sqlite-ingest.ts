import type { DatabaseSync } from 'node:sqlite';

/**
 * The SQLite store's two-table write path (docs/storage.md#sqlite, schema version 4).
 *
 * `readings` is clustered by (sid, ts), so a batch holding one reading each of N sensors dirtied N
 * pages, one per sensor, and the COMMIT wrote each of them (4 KiB) to the WAL: 5 MB per 1,000
 * readings with 5,000 sensors, which capped the store near 35,000 readings/s (docs/broker.md).
 * So a batch is appended to `ingest` instead (a rowid table: its rows go to the end of one B-tree,
 * about 60 bytes each, plus its (sid, ts) index, which is small), and committed: that is what makes
 * the write durable. The rows reach `readings` later, a GENERATION at a time: once `ingest` holds
 * `generationRows` rows that are not in a generation yet, they become one (every row up to the
 * current max seq), and each following write merges a slice of it, a range of sensors with all their
 * rows of the generation, in (sid, ts, seq) order, so each sensor's page is written once for all its
 * readings of the generation instead of once per batch. When the last range is merged, the
 * generation's rows leave `ingest` (one seq range). A slice runs inside the write's transaction
 * (a SAVEPOINT: one fsync for both; if the slice fails, it alone is undone and the write commits).
 *
 * Reads see `readings` and `ingest` together (sqlite.ts, sqlite-readings.ts): for a (sid, ts) in
 * both, or twice in `ingest`, the `ingest` row with the highest seq wins, which is the last one
 * written. A row of a generation is in both tables from its slice's merge until the generation
 * leaves `ingest`, with the same values, so that rule gives the same answer whichever table a read
 * finds it in; the move of each slice is one transaction.
 */
export interface IngestOptions {
  /** Rows in `ingest` (outside a generation) that start the next generation. */
  generationRows: number;
}

/** Default generation size: 100,000 rows (about 20 readings per sensor with 5,000 sensors). */
export const GENERATION_ROWS = 100_000;
/**
 * A slice merges about as many rows as the write that runs it brought, and at least this many: in
 * a steady flow the merge keeps pace with the writes. If it falls behind, the next generation is
 * only bigger (more readings per sensor per page written); it starts when this one ends.
 */
const MIN_SLICE_ROWS = 2_000;

const UPSERT = `ON CONFLICT (sid, ts) DO UPDATE SET gateway = excluded.gateway, kind = excluded.kind,
  q = excluded.q, vals = excluded.vals`;

export interface IngestMerger {
  /** Counts rows appended by a write (called before the write's merge slice). */
  appended(rows: number): void;
  /**
   * Runs one merge slice, sized for a write of `rows` readings, inside the caller's transaction:
   * starts a generation when enough rows are waiting, merges the next range of sensors, and ends
   * the generation after its last range. Throws on a database error (the caller undoes the slice).
   */
  slice(rows: number): void;
  /** The merge state, for tests: rows waiting outside a generation and the generation's last seq. */
  readonly state: { waiting: number; generation: number | null; cursor: number };
}

export function ingestMerger(db: DatabaseSync, o: IngestOptions): IngestMerger {
  const maxSeq = db.prepare('SELECT coalesce(max(seq), 0) AS s FROM ingest');
  const countRows = db.prepare('SELECT count(*) AS n FROM ingest');
  // The first sid after `limit` rows of the generation from `cursor` (index on (sid, ts)).
  const boundary = db.prepare(
    'SELECT sid FROM ingest WHERE sid >= ? AND seq <= ? ORDER BY sid, ts LIMIT 1 OFFSET ?',
  );
  const mergeRange = db.prepare(
    `INSERT INTO readings (sid, ts, gateway, kind, q, vals)
     SELECT sid, ts, gateway, kind, q, vals FROM ingest
     WHERE sid >= ? AND sid < ? AND seq <= ? ORDER BY sid, ts, seq ${UPSERT}`,
  );
  const dropGeneration = db.prepare('DELETE FROM ingest WHERE seq <= ?');
  // Rows left by an earlier process wait like new ones (a generation is in memory only: after a
  // restart its rows are merged again, which changes nothing).
  const state = {
    waiting: (countRows.get() as { n: number }).n,
    generation: null as number | null,
    cursor: 0,
  };

  return {
    state,
    appended(rows) {
      state.waiting += rows;
    },
    slice(rows) {
      if (state.generation === null) {
        if (state.waiting < o.generationRows) return;
        state.generation = (maxSeq.get() as { s: number }).s;
        state.cursor = 0;
        state.waiting = 0;
      }
      const gen = state.generation;
      const limit = Math.max(MIN_SLICE_ROWS, rows);
      const next = (boundary.get(state.cursor, gen, limit) as { sid: number } | undefined)?.sid;
      if (next === undefined) {
        // The last range: merge it and take the generation out of `ingest`.
        mergeRange.run(state.cursor, Number.MAX_SAFE_INTEGER, gen);
        dropGeneration.run(gen);
        state.generation = null;
        state.cursor = 0;
        return;
      }
      // One sensor with more rows than a slice is merged alone.
      const end = next > state.cursor ? next : state.cursor + 1;
      mergeRange.run(state.cursor, end, gen);
      state.cursor = end;
    },
  };
}
