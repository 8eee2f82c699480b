import { SENSOR_KINDS, type SensorKind } from '@slopeguard/core';
import { escape as influxEscape } from 'influx';
import { BrokerError } from '../errors.ts';
import { countField, fromRow, MEASUREMENT, QUALITY_FIELD, toLine } from './line-protocol.ts';
import {
  type Bucket,
  bucketStep,
  type RangeQuery,
  type ReadingsQuery,
  readingsPage,
  type Store,
  type StoredReading,
} from './types.ts';

/** A result row: columns by name (tags of GROUP BY included), `time` in epoch ms. */
export type Row = Record<string, unknown> & { time: number };
export type RunQuery = (influxql: string) => Promise<Row[]>;

/**
 * The read side of both InfluxDB stores, in InfluxQL: InfluxDB 1.x answers it natively, 2.x on
 * its /query compatibility endpoint (with a DBRP mapping) and 3.x natively. Only `run` differs.
 */
export function influxQueries(run: RunQuery) {
  const m = influxEscape.quoted(MEASUREMENT);
  const siteCond = (site?: string) =>
    site === undefined ? '' : ` WHERE "site" = ${influxEscape.stringLit(site)}`;

  async function query(q: string): Promise<Row[]> {
    try {
      return await run(q);
    } catch (err) {
      if (err instanceof BrokerError) throw err;
      throw new BrokerError('SG_ERR_STORE_QUERY', `InfluxDB query failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  return {
    async latest(filter?: { site?: string }): Promise<StoredReading[]> {
      // One row per (site, sensor): the newest point of the group, with its tags.
      const rows = await query(
        `SELECT * FROM ${m}${siteCond(filter?.site)} GROUP BY "site", "sensor" ORDER BY time DESC LIMIT 1`,
      );
      return rows
        .map((row) => {
          const { time, site, gateway, sensor, kind, ...fields } = row;
          return fromRow({
            site: String(site),
            gateway: String(gateway),
            sensor: String(sensor),
            kind: String(kind),
            ts: time,
            fields,
          });
        })
        .sort((a, b) =>
          a.site === b.site ? a.sensor.localeCompare(b.sensor) : a.site.localeCompare(b.site),
        );
    },

    async range(q: RangeQuery): Promise<Bucket[]> {
      const step = bucketStep(q);
      const offset = ((q.from % step) + step) % step;
      // Buckets aligned to `from` (GROUP BY time with an offset); fill(none) omits empty ones.
      const rows = await query(
        `SELECT min(*), max(*), mean(*), count(*) FROM ${m} WHERE "site" = ${influxEscape.stringLit(q.site)} AND "sensor" = ${influxEscape.stringLit(q.sensor)} AND time >= ${Math.trunc(q.from)}ms AND time <= ${Math.trunc(q.to)}ms GROUP BY time(${step}ms, ${offset}ms) fill(none)`,
      );
      const buckets: Bucket[] = [];
      for (const row of rows) {
        const b: Bucket = { start: row.time, count: 0, values: {} };
        for (const [col, v] of Object.entries(row)) {
          const match = /^(min|max|mean|count)_(.+)$/.exec(col);
          if (!match || typeof v !== 'number') continue;
          const fn = match[1] as 'min' | 'max' | 'mean' | 'count';
          const field = match[2] as string;
          if (field === QUALITY_FIELD) continue;
          if (fn === 'count') {
            b.count = Math.max(b.count, v);
            continue;
          }
          b.values[field] ??= { min: Number.NaN, max: Number.NaN, mean: Number.NaN };
          const stats = b.values[field];
          if (stats) stats[fn] = v;
        }
        if (b.count > 0) buckets.push(b);
      }
      return buckets;
    },

    /**
     * Raw points of one sensor, a page at a time: each page one query from the last time read
     * (keyset on time, unique per sensor), so nothing is held between pages and InfluxDB never
     * builds the whole range into one answer.
     */
    readings(q: ReadingsQuery): AsyncIterable<StoredReading[]> {
      const where = `"site" = ${influxEscape.stringLit(q.site)} AND "sensor" = ${influxEscape.stringLit(q.sensor)}`;
      const size = readingsPage(q);
      const to = Math.trunc(q.to);
      return {
        async *[Symbol.asyncIterator]() {
          let from = Math.trunc(q.from);
          while (from <= to) {
            const rows = await query(
              `SELECT * FROM ${m} WHERE ${where} AND time >= ${from}ms AND time <= ${to}ms ORDER BY time ASC LIMIT ${size}`,
            );
            if (rows.length === 0) return;
            yield rows.map((row) => {
              const { time, site: _site, gateway, sensor: _sensor, kind, ...fields } = row;
              return fromRow({
                site: q.site,
                gateway: String(gateway),
                sensor: q.sensor,
                kind: String(kind),
                ts: time,
                fields,
              });
            });
            if (rows.length < size) return;
            from = (rows[rows.length - 1] as Row).time + 1;
          }
        },
      };
    },

    async count(filter?: { site?: string }): Promise<number> {
      // Every point carries its kind's first required field: count that per kind.
      const rows = await query(`SELECT count(*) FROM ${m}${siteCond(filter?.site)} GROUP BY "kind"`);
      let n = 0;
      for (const row of rows) {
        const kind = row.kind;
        if (typeof kind !== 'string' || !(SENSOR_KINDS as readonly string[]).includes(kind)) continue;
        const v = row[`count_${countField(kind as SensorKind)}`];
        if (typeof v === 'number') n += v;
      }
      return n;
    },
  };
}

interface QueryJson {
  results?: {
    error?: string;
    series?: { tags?: Record<string, string>; columns: string[]; values: unknown[][] }[];
  }[];
  error?: string;
}

/** Flattens a /query JSON answer (epoch=ms) into rows, merging each series' GROUP BY tags. */
export function rowsFromJson(json: QueryJson): Row[] {
  if (json.error) throw new BrokerError('SG_ERR_STORE_QUERY', `InfluxDB: ${json.error}`);
  const rows: Row[] = [];
  for (const result of json.results ?? []) {
    if (result.error) throw new BrokerError('SG_ERR_STORE_QUERY', `InfluxDB: ${result.error}`);
    for (const series of result.series ?? []) {
      for (const values of series.values) {
        const row: Record<string, unknown> = { ...series.tags };
        series.columns.forEach((c, i) => {
          row[c] = values[i];
        });
        rows.push(row as Row);
      }
    }
  }
  return rows;
}

/**
 * The Store both InfluxDB versions share: reads through the same InfluxQL, writes through the
 * version's own `writeLines` (one request for the whole batch, line protocol from line-protocol.ts).
 */
export function influxStore(
  writeLines: (lines: string[]) => Promise<void>,
  queries: ReturnType<typeof influxQueries>,
): Store {
  let closed = false;
  const open = () => {
    if (closed) throw new BrokerError('SG_ERR_STORE_CLOSED', 'InfluxDB store is closed');
  };
  return {
    async write(batch) {
      open();
      if (batch.length > 0) await writeLines(batch.map(toLine));
    },
    async latest(filter) {
      open();
      return queries.latest(filter);
    },
    async range(q) {
      open();
      return queries.range(q);
    },
    readings(q) {
      const pages = queries.readings(q);
      return {
        async *[Symbol.asyncIterator]() {
          open();
          for await (const page of pages) {
            yield page;
            open();
          }
        },
      };
    },
    async count(filter) {
      open();
      return queries.count(filter);
    },
    async close() {
      closed = true;
    },
  };
}
