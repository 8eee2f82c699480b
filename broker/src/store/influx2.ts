import { InfluxDB, setLogger } from '@influxdata/influxdb-client';
import { childLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.ts';
import { influxQueries, influxStore, rowsFromJson } from './influxql.ts';
import type { Store } from './types.ts';

export interface Influx2StoreOptions {
  /** e.g. http://127.0.0.1:8086 */
  url: string;
  token: string;
  org: string;
  bucket: string;
  /** Request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /**
   * Where the official client's own messages go (it logs to the console by default). Note that the
   * client's logger is process-wide. Failed writes are reported by the recorder in any case.
   */
  logger?: Logger;
}

/**
 * InfluxDB 2.x / 3.x, kept thin: writes go through the official client's v2 write API with the
 * same line-protocol mapping as the 1.x store; reads use the same InfluxQL as the 1.x store, on the
 * /query endpoint (`db` = the bucket name; InfluxDB 2.x needs a DBRP mapping for the bucket, 3.x
 * answers InfluxQL natively). The client's own batching and retries are off: the recorder batches
 * and retries, and needs each write to fail or succeed as a whole.
 *
 * Tested (docs/storage.md): the contract suite through a shim that passes /api/v2/write on to a
 * real InfluxDB 1.6.7's /write; never against a real 2.x or 3.x server here.
 */
export function openInflux2Store(options: Influx2StoreOptions): Store {
  const timeout = options.timeoutMs ?? 10_000;
  const log = options.logger && childLogger(options.logger, { component: 'influxdb-client' });
  setLogger({
    error: (message, err) => log?.debug({ err }, message),
    warn: (message, err) => log?.debug({ err }, message),
  });
  const client = new InfluxDB({ url: options.url, token: options.token, timeout });
  const queryUrl = new URL('/query', options.url);
  const queries = influxQueries(async (q) => {
    const u = new URL(queryUrl);
    u.searchParams.set('db', options.bucket);
    u.searchParams.set('epoch', 'ms');
    u.searchParams.set('q', q);
    const res = await fetch(u, {
      headers: { authorization: `Token ${options.token}` },
      signal: AbortSignal.timeout(timeout),
    });
    if (!res.ok) {
      throw new BrokerError(
        'SG_ERR_STORE_QUERY',
        `InfluxDB query answered ${res.status}: ${(await res.text()).slice(0, 300)}`,
      );
    }
    return rowsFromJson((await res.json()) as Parameters<typeof rowsFromJson>[0]);
  });

  return influxStore(async (lines) => {
    // A write API per batch: close() flushes exactly these lines and rejects if they failed.
    const api = client.getWriteApi(options.org, options.bucket, 'ms', {
      batchSize: lines.length + 1,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: lines.length + 1,
    });
    api.writeRecords(lines);
    try {
      await api.close();
    } catch (err) {
      // 400 = the points themselves are invalid: retrying cannot help (see the recorder).
      const status = (err as { statusCode?: number }).statusCode;
      const code = status === 400 ? 'SG_ERR_STORE_REJECTED' : 'SG_ERR_STORE_WRITE';
      throw new BrokerError(code, `InfluxDB write failed: ${(err as Error).message}`, { cause: err });
    }
  }, queries);
}
