import { InfluxDB } from 'influx';
import { BrokerError } from '../errors.ts';
import { influxQueries, influxStore, type Row } from './influxql.ts';
import type { Store } from './types.ts';

export interface Influx1StoreOptions {
  /** e.g. http://127.0.0.1:8086 */
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** Create the database if missing (default true). */
  createDatabase?: boolean;
  /** Request timeout, ms (default 10 s). */
  timeoutMs?: number;
}

/**
 * InfluxDB 1.x (tested against Debian's 1.6.7). Queries and database set-up go through the
 * `influx` package; writes POST the shared line-protocol mapping (line-protocol.ts) to /write
 * with precision=ms, because the `influx` package serialises points itself and cannot send lines
 * built elsewhere. A write resolves after InfluxDB answered 204, i.e. after its WAL has the points.
 */
export async function openInflux1Store(options: Influx1StoreOptions): Promise<Store> {
  const url = new URL(options.url);
  const timeout = options.timeoutMs ?? 10_000;
  const influx = new InfluxDB({
    host: url.hostname,
    port: Number(url.port || 8086),
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    database: options.database,
    username: options.username,
    password: options.password,
    options: { timeout },
  });
  if (options.createDatabase ?? true) {
    // CREATE DATABASE is idempotent in InfluxDB 1.x.
    await influx.createDatabase(options.database);
    // Seen with 1.6.7: a write right after CREATE DATABASE can still answer "database not found".
    for (let i = 0; i < 50 && !(await influx.getDatabaseNames()).includes(options.database); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const writeUrl = new URL('/write', url);
  writeUrl.searchParams.set('db', options.database);
  writeUrl.searchParams.set('precision', 'ms');
  const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
  if (options.username !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
  }
  const queries = influxQueries(async (q) => {
    const rows = (await influx.query(q, { precision: 'ms' })) as unknown as (Record<string, unknown> & {
      time: Date;
    })[];
    return rows.map((r) => ({ ...r, time: r.time.getTime() }) as Row);
  });

  return influxStore(async (lines) => {
    let res: Response;
    try {
      res = await fetch(writeUrl, {
        method: 'POST',
        headers,
        body: lines.join('\n'),
        signal: AbortSignal.timeout(timeout),
      });
    } catch (err) {
      throw new BrokerError('SG_ERR_STORE_WRITE', `InfluxDB write failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (res.status !== 204) {
      const text = await res.text().catch(() => '');
      // 400 = the points themselves are invalid (e.g. a timestamp after 2262): retrying cannot help.
      const code = res.status === 400 ? 'SG_ERR_STORE_REJECTED' : 'SG_ERR_STORE_WRITE';
      throw new BrokerError(code, `InfluxDB write answered ${res.status}: ${text.slice(0, 300)}`);
    }
  }, queries);
}
