import { Worker } from 'node:worker_threads';
import { BrokerError, type BrokerErrorCode } from '../errors.ts';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite.ts';
import { type EncodedBatch, encodeBatch } from './sqlite-batch.ts';
import type { Store } from './types.ts';

/** Main thread -> writer: a batch to commit (encoded, sqlite-batch.ts), or the end. */
export type ToWriter = { id: number; batch: EncodedBatch } | { close: true };
/** Writer -> main thread: the batch is committed (or why not), or a merge failed (sqlite-ingest.ts). */
export type FromWriter =
  | { id: number; error?: { code: BrokerErrorCode; message: string } }
  | { mergeError: string };
/** What the writer thread is opened with: the options that cross a thread (no callbacks). */
export type WriterOptions = Omit<SqliteStoreOptions, 'onMergeError'>;

/**
 * The SQLite store with its writes in a worker thread (docs/storage.md#sqlite).
 *
 * Profiled under the broker bench (1,000 gateways, 10 readings per message, QoS 1): with the
 * SQLite store on the broker's thread, `write` (the INSERTs, the `latest` upserts and the COMMIT's
 * fsync, all synchronous in node:sqlite) was the largest single item of the broker's event loop,
 * and while it ran no MQTT packet was read, validated or acknowledged. Here the writer thread owns
 * one connection and does exactly what openSqliteStore's `write` does (the same code, the same
 * transaction, the same durability), while the broker's thread goes on. A batch crosses as a
 * string and two transferred typed arrays (sqlite-batch.ts), encoded here, so a reading whose
 * values JSON refuses is rejected before it is posted; reads (latest, range, reads (latest, range,
 * count) use a second connection on the calling thread, which WAL lets read while the writer
 * writes, and which sees every write whose promise has resolved.
 *
 * `write` resolves after the writer's COMMIT returned, so PUBACK still means "committed". Errors
 * keep their codes (the recorder tells a refused message, SG_ERR_STORE_REJECTED, from an outage).
 * If the writer thread dies, the writes it had are rejected as SG_ERR_STORE_WRITE (the recorder
 * retries them) and the next write starts a new thread.
 */
export function openThreadedSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  // Opening here first creates the file and schema (and refuses an old schema) synchronously.
  const { onMergeError, ...writerOptions } = options;
  const reader = openSqliteStore(path, writerOptions);
  const pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let worker: Worker | undefined;
  let closed = false;

  function failAll(message: string): void {
    for (const [id, p] of pending) {
      pending.delete(id);
      p.reject(new BrokerError('SG_ERR_STORE_WRITE', message));
    }
  }

  function writer(): Worker {
    if (worker) return worker;
    const w = new Worker(new URL('./sqlite-writer.ts', import.meta.url), {
      workerData: { path, options: writerOptions satisfies WriterOptions },
    });
    w.on('message', (m: FromWriter) => {
      if ('mergeError' in m) {
        onMergeError?.(new Error(m.mergeError));
        return;
      }
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (m.error) p.reject(new BrokerError(m.error.code, m.error.message));
      else p.resolve();
    });
    w.on('error', (err) => {
      if (worker === w) worker = undefined;
      failAll(`SQLite writer thread failed: ${err.message}`);
    });
    w.on('exit', (code) => {
      if (worker === w) worker = undefined;
      failAll(`SQLite writer thread exited (${code})`);
    });
    // The thread must not keep a process alive that has nothing else to do.
    if (pending.size === 0) w.unref();
    worker = w;
    return w;
  }

  return {
    write(batch) {
      if (closed) return Promise.reject(new BrokerError('SG_ERR_STORE_CLOSED', 'SQLite store is closed'));
      if (batch.length === 0) return Promise.resolve();
      let encoded: EncodedBatch;
      try {
        // Here, not in the writer: a reading the store cannot take is refused before it is posted.
        encoded = encodeBatch(batch);
      } catch (err) {
        return Promise.reject(err);
      }
      const id = nextId++;
      const w = writer();
      return new Promise<void>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        w.ref();
        // The typed arrays' buffers move to the writer (no copy); the string is copied once.
        w.postMessage({ id, batch: encoded } satisfies ToWriter, [encoded.lens.buffer, encoded.ts.buffer]);
      }).finally(() => {
        if (pending.size === 0) worker?.unref();
      });
    },
    latest: (filter) => reader.latest(filter),
    range: (q) => reader.range(q),
    readings: (q) => reader.readings(q),
    count: (filter) => reader.count(filter),
    async close() {
      if (closed) return;
      closed = true;
      const w = worker;
      if (w) {
        w.ref();
        const exited = new Promise<void>((r) => w.once('exit', () => r()));
        // Writes already posted are committed first: the thread handles messages in order.
        w.postMessage({ close: true } satisfies ToWriter);
        await exited;
      }
      await reader.close();
    },
  };
}
