/**
 * The writer thread of openThreadedSqliteStore (sqlite-thread.ts): one connection, writes only,
 * one batch at a time in the order they were posted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BrokerErrorCode } from '../errors.ts';
import { openSqliteStore } from './sqlite.ts';
import type { FromWriter, ToWriter, WriterOptions } from './sqlite-thread.ts';

const { path, options } = workerData as { path: string; options: WriterOptions };
const port = parentPort;
const store = openSqliteStore(path, {
  ...options,
  onMergeError: (err) => port?.postMessage({ mergeError: err.message } satisfies FromWriter),
});

port?.on('message', (m: ToWriter) => {
  if ('close' in m) {
    void store.close().then(() => port.close());
    return;
  }
  try {
    store.writeEncoded(m.batch);
    port.postMessage({ id: m.id } satisfies FromWriter);
  } catch (e) {
    const err = e as { code?: string; message?: string };
    port.postMessage({
      id: m.id,
      error: {
        code: (err.code ?? 'SG_ERR_STORE_WRITE') as BrokerErrorCode,
        message: err.message ?? String(err),
      },
    } satisfies FromWriter);
  }
});
