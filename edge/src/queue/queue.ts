import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { encodePayload, type GatewayEvent, type Reading } from '@slopeguard/core';
import { SCHEMA_SQL } from './schema-sql.ts';

/**
 * The durable store-and-forward queue. Every reading is written here before anything else may send
 * it; a telemetry batch is cut from committed rows in the same transaction that takes its `seq`, so a
 * restart finds each unacknowledged batch with its original seq and republishes it unchanged.
 *
 * Durability: WAL with synchronous=FULL by default. In WAL mode NORMAL survives a process crash
 * (kill -9) but a power cut may roll back the last commits; a gateway on solar power loses power, so
 * FULL (an fsync of the WAL on every commit) is the default. The cost is bounded by committing in
 * groups (`commit()` runs every commitIntervalMs), not per reading.
 *
 * Not thread-safe and synchronous by design: one owner (the forwarder) calls it from the event loop.
 */
export interface QueueOptions {
  path: string;
  synchronous: 'FULL' | 'NORMAL';
  maxReadings: number;
  minFreeMb: number;
  policy: 'drop-oldest' | 'refuse-new';
}

export interface Batch {
  seq: number;
  firstId: number;
  lastId: number;
  count: number;
  /** The telemetry payload, built from the stored JSON without re-encoding each reading. */
  payload: string;
}

export interface QueuedEvent {
  id: number;
  payload: string;
}

export interface CommitResult {
  inserted: number;
  dropped: number;
  events: number;
}

export interface QueueStats {
  /** False when the queue lives in memory because its file could not be opened. */
  durable: boolean;
  depth: number;
  oldestTs: number | null;
  dropped: number;
  events: number;
  inflightBatches: number;
  nextSeq: number;
  dbBytes: number;
}

const EVENT_CAP = 10_000;
/** Readings held in memory while the disk refuses commits (about 20 MB). */
const MAX_PENDING = 100_000;

export class QueueError extends Error {
  readonly code = 'SG_ERR_EDGE_QUEUE';
}

export class ReadingQueue {
  readonly #db: DatabaseSync;
  readonly #opts: QueueOptions;
  readonly #st: Statements;
  #pending: { reading: Reading; keep: boolean }[] = [];
  #pendingEvents: string[] = [];
  #acked: Batch[] = [];
  #ackedEvents: number[] = [];
  #depth: number;
  #dropped: number;
  #droppedSaved: number;
  #nextSeq: number;
  #lastId: number;
  #open = true;

  constructor(opts: QueueOptions) {
    this.#opts = opts;
    if (opts.path !== ':memory:') privateFiles(opts.path);
    this.#db = new DatabaseSync(opts.path);
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec(`PRAGMA synchronous = ${opts.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`);
    this.#db.exec('PRAGMA busy_timeout = 5000');
    this.#db.exec(SCHEMA_SQL);
    const db = this.#db;
    this.#st = prepare(db);
    this.#depth = Number((db.prepare('SELECT COUNT(*) AS n FROM readings').get() as { n: number }).n);
    this.#lastId = Number(
      (db.prepare('SELECT COALESCE(MAX(id), 0) AS n FROM readings').get() as { n: number }).n,
    );
    this.#dropped = Number(this.#meta('dropped') ?? 0);
    this.#droppedSaved = this.#dropped;
    this.#nextSeq = Number(this.#meta('next_seq') ?? 0);
  }

  /**
   * Buffers a reading for the next commit. `keep` marks readings taken while the level was raised.
   * While commits fail (disk error) the buffer is capped: the oldest buffered reading is dropped and
   * counted, so a broken card cannot also exhaust memory and take the siren down with the process.
   */
  append(reading: Reading, keep = false): void {
    if (this.#pending.length >= MAX_PENDING) {
      this.#pending.shift();
      this.#dropped++;
    }
    this.#pending.push({ reading, keep });
  }

  appendEvent(event: GatewayEvent): void {
    this.#pendingEvents.push(encodePayload('event', event));
  }

  get pendingCount(): number {
    return this.#pending.length;
  }

  /** Marks a batch as acknowledged (PUBACK); its rows go in the next commit. */
  ack(batch: Batch): void {
    this.#acked.push(batch);
  }

  ackEvent(id: number): void {
    this.#ackedEvents.push(id);
  }

  /** Committed readings with an id up to `id` not yet acknowledged and removed (0: all delivered). */
  remainingUpTo(id: number): number {
    return Number((this.#st.countUpTo.get(id) as { n: number }).n);
  }

  /** Highest committed reading id; the forwarder uses it to split live from backlog at reconnect. */
  get lastId(): number {
    return this.#lastId;
  }

  /**
   * One transaction: buffered readings and events in, acknowledged batches out, quota applied, and
   * `assign` run inside it so that batches cut there share the commit (and its fsync).
   */
  commit<T>(assign?: (cut: BatchCutter) => T): CommitResult & { assigned: T | undefined } {
    if (!this.#open) throw new QueueError('queue is closed');
    const readings = this.#pending;
    const events = this.#pendingEvents;
    const acked = this.#acked;
    const ackedEvents = this.#ackedEvents;
    this.#pending = [];
    this.#pendingEvents = [];
    this.#acked = [];
    this.#ackedEvents = [];
    let inserted = 0;
    let dropped = 0;
    let assigned: T | undefined;
    const depthBefore = this.#depth;
    const lastIdBefore = this.#lastId;
    const nextSeqBefore = this.#nextSeq;
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      for (const b of acked) {
        const r = this.#st.delBatchRows.run(b.firstId, b.lastId, b.seq);
        this.#st.delBatch.run(b.seq);
        this.#depth -= Number(r.changes);
      }
      for (const id of ackedEvents) this.#st.delEvent.run(id);
      const room = this.#room(readings.length);
      if (room.dropNow > 0) dropped += this.#drop(room.dropNow);
      let accepted = room.refuse > 0 ? readings.slice(0, readings.length - room.refuse) : readings;
      // More arrived in one commit than the quota holds (the event loop stalled, or readings in
      // flight cannot be dropped): under drop-oldest the oldest of the new ones go as well.
      const excess = this.#depth + accepted.length - this.#opts.maxReadings;
      if (excess > 0 && this.#opts.policy === 'drop-oldest') accepted = accepted.slice(excess);
      dropped += readings.length - accepted.length;
      for (const { reading, keep } of accepted) {
        const r = this.#st.insert.run(reading.sensor, reading.ts, keep ? 1 : 0, JSON.stringify(reading));
        this.#lastId = Number(r.lastInsertRowid);
        inserted++;
      }
      this.#depth += inserted;
      for (const body of events) this.#st.insertEvent.run(body);
      if (events.length > 0) this.#capEvents();
      this.#dropped += dropped;
      if (this.#dropped !== this.#droppedSaved) this.#st.setMeta.run('dropped', String(this.#dropped));
      if (assign) assigned = assign(this.#cutter());
      this.#db.exec('COMMIT');
      this.#droppedSaved = this.#dropped;
    } catch (err) {
      this.#db.exec('ROLLBACK');
      // Nothing of this commit happened: put the buffers back so the next commit retries them.
      this.#pending = readings.concat(this.#pending);
      this.#pendingEvents = events.concat(this.#pendingEvents);
      this.#acked = acked.concat(this.#acked);
      this.#ackedEvents = ackedEvents.concat(this.#ackedEvents);
      this.#depth = depthBefore;
      this.#lastId = lastIdBefore;
      this.#nextSeq = nextSeqBefore;
      this.#dropped -= dropped;
      throw err;
    }
    return { inserted, dropped, events: events.length, assigned };
  }

  /** Batches cut before a restart and never acknowledged, oldest first, with their original seq. */
  unacknowledged(): Batch[] {
    const rows = this.#st.batches.all() as {
      seq: number;
      first_id: number;
      last_id: number;
      count: number;
    }[];
    return rows.map((r) => {
      const bodies = this.#st.batchRows.all(r.first_id, r.last_id, r.seq) as { body: string }[];
      return {
        seq: Number(r.seq),
        firstId: Number(r.first_id),
        lastId: Number(r.last_id),
        count: bodies.length,
        payload: telemetryPayload(Number(r.seq), bodies),
      };
    });
  }

  /** Committed events after `afterId`, oldest first. */
  events(afterId: number, limit: number): QueuedEvent[] {
    const rows = this.#st.events.all(afterId, limit) as { id: number; body: string }[];
    return rows.map((r) => ({ id: Number(r.id), payload: r.body }));
  }

  saveState(key: string, value: unknown): void {
    this.#st.setMeta.run(`state:${key}`, JSON.stringify(value));
  }

  loadState(key: string): unknown {
    const v = this.#meta(`state:${key}`);
    if (v === undefined) return undefined;
    try {
      return JSON.parse(v);
    } catch {
      return undefined;
    }
  }

  stats(): QueueStats {
    const oldest = this.#st.oldest.get() as { ts: number } | undefined;
    const events = this.#db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number };
    const inflight = this.#db.prepare('SELECT COUNT(*) AS n FROM batches').get() as { n: number };
    const pages = this.#db.prepare('PRAGMA page_count').get() as { page_count: number };
    const size = this.#db.prepare('PRAGMA page_size').get() as { page_size: number };
    return {
      durable: this.#opts.path !== ':memory:',
      depth: this.#depth + this.#pending.length,
      oldestTs: oldest ? Number(oldest.ts) : (this.#pending[0]?.reading.ts ?? null),
      dropped: this.#dropped,
      events: Number(events.n) + this.#pendingEvents.length,
      inflightBatches: Number(inflight.n),
      nextSeq: this.#nextSeq,
      dbBytes: Number(pages.page_count) * Number(size.page_size),
    };
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#db.close();
  }

  #meta(key: string): string | undefined {
    const row = this.#st.getMeta.get(key) as { value: string } | undefined;
    return row?.value;
  }

  /** How many old readings to drop now, or new ones to refuse, so the queue stays within its quota. */
  #room(incoming: number): { dropNow: number; refuse: number } {
    let over = this.#depth + incoming - this.#opts.maxReadings;
    if (over <= 0 && this.#diskLow()) over = Math.max(incoming, 1000);
    if (over <= 0) return { dropNow: 0, refuse: 0 };
    if (this.#opts.policy === 'refuse-new') return { dropNow: 0, refuse: Math.min(incoming, over) };
    return { dropNow: over, refuse: 0 };
  }

  #diskLow(): boolean {
    if (this.#opts.minFreeMb <= 0 || this.#opts.path === ':memory:') return false;
    try {
      const s = statfsSync(dirname(this.#opts.path));
      return s.bavail * s.bsize < this.#opts.minFreeMb * 1024 * 1024;
    } catch {
      return false;
    }
  }

  /** Oldest readings that were not taken during a raised level go first, then the oldest of any. */
  #drop(n: number): number {
    let done = Number(this.#st.dropOldest.run(n).changes);
    if (done < n) done += Number(this.#st.dropOldestAny.run(n - done).changes);
    this.#depth -= done;
    return done;
  }

  #capEvents(): void {
    const n = (this.#db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    if (n > EVENT_CAP) this.#st.dropEvents.run(n - EVENT_CAP);
  }

  #cutter(): BatchCutter {
    const cut = (rows: { id: number; body: string }[]): Batch | undefined => {
      const first = rows[0];
      const last = rows[rows.length - 1];
      if (!first || !last) return undefined;
      const seq = this.#nextSeq;
      this.#st.mark.run(seq, first.id, last.id);
      this.#st.addBatch.run(seq, first.id, last.id, rows.length);
      this.#nextSeq = seq + 1;
      this.#st.setMeta.run('next_seq', String(this.#nextSeq));
      return {
        seq,
        firstId: Number(first.id),
        lastId: Number(last.id),
        count: rows.length,
        payload: telemetryPayload(seq, rows),
      };
    };
    return {
      live: (afterId, max) => cut(this.#st.pickLive.all(afterId, max) as { id: number; body: string }[]),
      backlog: (afterId, upToId, max) =>
        cut(this.#st.pickBacklog.all(afterId, upToId, max) as { id: number; body: string }[]),
    };
  }
}

/** Cuts batches inside a commit. Rows are picked in id order, which is arrival order per sensor. */
export interface BatchCutter {
  live(afterId: number, max: number): Batch | undefined;
  backlog(afterId: number, upToId: number, max: number): Batch | undefined;
}

function telemetryPayload(seq: number, rows: readonly { body: string }[]): string {
  return `{"seq":${seq},"readings":[${rows.map((r) => r.body).join(',')}]}`;
}

function prepare(db: DatabaseSync) {
  return {
    insert: db.prepare('INSERT INTO readings (sensor, ts, keep, body) VALUES (?, ?, ?, ?)'),
    insertEvent: db.prepare('INSERT INTO events (body) VALUES (?)'),
    countUpTo: db.prepare('SELECT COUNT(*) AS n FROM readings WHERE id <= ?'),
    pickLive: db.prepare('SELECT id, body FROM readings WHERE id > ? AND batch IS NULL ORDER BY id LIMIT ?'),
    pickBacklog: db.prepare(
      'SELECT id, body FROM readings WHERE id > ? AND id <= ? AND batch IS NULL ORDER BY id LIMIT ?',
    ),
    mark: db.prepare('UPDATE readings SET batch = ? WHERE id BETWEEN ? AND ? AND batch IS NULL'),
    addBatch: db.prepare('INSERT INTO batches (seq, first_id, last_id, count) VALUES (?, ?, ?, ?)'),
    delBatchRows: db.prepare('DELETE FROM readings WHERE id BETWEEN ? AND ? AND batch = ?'),
    delBatch: db.prepare('DELETE FROM batches WHERE seq = ?'),
    delEvent: db.prepare('DELETE FROM events WHERE id = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    dropOldest: db.prepare(
      'DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE batch IS NULL AND keep = 0 ORDER BY id LIMIT ?)',
    ),
    dropOldestAny: db.prepare(
      'DELETE FROM readings WHERE id IN (SELECT id FROM readings WHERE batch IS NULL ORDER BY id LIMIT ?)',
    ),
    dropEvents: db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?)'),
    oldest: db.prepare('SELECT ts FROM readings ORDER BY id LIMIT 1'),
    batches: db.prepare('SELECT seq, first_id, last_id, count FROM batches ORDER BY seq'),
    batchRows: db.prepare('SELECT body FROM readings WHERE id BETWEEN ? AND ? AND batch = ? ORDER BY id'),
    events: db.prepare('SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT ?'),
  };
}
type Statements = ReturnType<typeof prepare>;

/**
 * The queue holds every reading and the engine state: readable by the gateway's user only. The file is
 * created 0600 before SQLite opens it, because SQLite gives its -wal and -shm files the mode of the
 * database file; files left by an older version are tightened. A directory it creates is 0700.
 */
function privateFiles(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}
