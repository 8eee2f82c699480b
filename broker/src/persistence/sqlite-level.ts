import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

/**
 * The subset of the abstract-level API that aedes-persistence-level 9.2 calls (get, put, del,
 * clear, batch in both forms, values, close), over a node:sqlite table. Keys compare as UTF-8
 * bytes in SQLite's BINARY collation, the same order as LevelDB, which the persistence's prefix
 * ranges rely on. Every operation commits before its promise resolves, and operations complete in
 * the order they were called (node:sqlite is synchronous): see docs/broker.md#persistence for why
 * that order matters to Aedes.
 *
 * Durability: WAL with synchronous=NORMAL. A committed operation survives the broker process being
 * killed (kill -9); a power cut may lose the last few hundred milliseconds.
 */
export interface LevelLike {
  get(key: string, options?: unknown): Promise<Buffer | undefined>;
  put(key: string, value: Uint8Array, options?: unknown): Promise<void>;
  del(key: string): Promise<void>;
  clear(range: { gte: string; lt: string }): Promise<void>;
  batch(ops: BatchOp[], options?: unknown): Promise<void>;
  batch(): ChainedBatch;
  values(range: { gte: string; lt: string }): AsyncIterable<Buffer>;
  close(): Promise<void>;
}

export type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

export interface ChainedBatch {
  put(key: string, value: Uint8Array): ChainedBatch;
  del(key: string): ChainedBatch;
  write(): Promise<void>;
}

const PAGE = 256;

function toBuffer(v: Uint8Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function openSqliteLevel(path: string): LevelLike {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID');
  const getStmt = db.prepare('SELECT v FROM kv WHERE k = ?');
  const putStmt = db.prepare(
    'INSERT INTO kv (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v',
  );
  const delStmt = db.prepare('DELETE FROM kv WHERE k = ?');
  const clearStmt = db.prepare('DELETE FROM kv WHERE k >= ? AND k < ?');
  const pageStmt = db.prepare('SELECT k, v FROM kv WHERE k >= ? AND k < ? AND k > ? ORDER BY k LIMIT ?');
  let open = true;

  function runBatch(ops: readonly BatchOp[]): void {
    db.exec('BEGIN');
    try {
      for (const op of ops) {
        if (op.type === 'put') putStmt.run(op.key, op.value);
        else delStmt.run(op.key);
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }

  const level = {
    async get(key: string) {
      const row = getStmt.get(key) as { v: Uint8Array } | undefined;
      return row ? toBuffer(row.v) : undefined;
    },
    async put(key: string, value: Uint8Array) {
      putStmt.run(key, value);
    },
    async del(key: string) {
      delStmt.run(key);
    },
    async clear(range: { gte: string; lt: string }) {
      clearStmt.run(range.gte, range.lt);
    },
    batch(ops?: BatchOp[]) {
      if (ops) {
        return (async () => runBatch(ops))();
      }
      const pending: BatchOp[] = [];
      const chained: ChainedBatch = {
        put(key, value) {
          pending.push({ type: 'put', key, value });
          return chained;
        },
        del(key) {
          pending.push({ type: 'del', key });
          return chained;
        },
        async write() {
          runBatch(pending);
        },
      };
      return chained;
    },
    async *values(range: { gte: string; lt: string }) {
      // Paged by key so that writes during iteration (acks clearing entries) are safe.
      let after = '';
      for (;;) {
        if (!open) return;
        const rows = pageStmt.all(range.gte, range.lt, after, PAGE) as { k: string; v: Uint8Array }[];
        for (const row of rows) yield toBuffer(row.v);
        const last = rows[rows.length - 1];
        if (!last || rows.length < PAGE) return;
        after = last.k;
      }
    },
    async close() {
      if (!open) return;
      open = false;
      db.close();
    },
  };
  return level as LevelLike;
}
