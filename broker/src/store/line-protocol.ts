import { KIND_FIELDS, type Quality, type SensorKind } from '@slopeguard/core';
import type { StoredReading } from './types.ts';

/**
 * The InfluxDB mapping shared by the v1 and v2 stores (docs/storage.md#influxdb), so the v1 tests
 * against a real server also test what the v2 store writes:
 *
 *   readings,site=<site>,gateway=<gateway>,sensor=<sensor>,kind=<kind> <values...>[,_quality="ok"] <ts ms>
 *
 * Value fields are always floats (no `i` suffix), so a field never changes type between points.
 * The quality goes in the field `_quality`, a name the Reading schema cannot produce for a value
 * (value names start with a-z). A point is identified by (measurement, tag set, ts): writing the
 * same reading twice overwrites it, which is what makes writes idempotent.
 */
export const MEASUREMENT = 'readings';
export const QUALITY_FIELD = '_quality';
export const TAGS = ['site', 'gateway', 'sensor', 'kind'] as const;

const escapeKey = (s: string) => s.replace(/[,= \\]/g, (c) => `\\${c}`);
const escapeString = (s: string) => s.replace(/["\\]/g, (c) => `\\${c}`);

function float(n: number): string {
  // String() gives the shortest round-trip form; integers stay without a decimal point, which
  // line protocol reads as a float (only an `i` suffix makes an integer).
  return String(n);
}

export function toLine(r: StoredReading): string {
  const tags = `site=${escapeKey(r.site)},gateway=${escapeKey(r.gateway)},sensor=${escapeKey(r.sensor)},kind=${escapeKey(r.kind)}`;
  const fields = Object.entries(r.values).map(([k, v]) => `${escapeKey(k)}=${float(v)}`);
  if (r.q !== undefined) fields.push(`${QUALITY_FIELD}="${escapeString(r.q)}"`);
  return `${MEASUREMENT},${tags} ${fields.join(',')} ${Math.trunc(r.ts)}`;
}

/** Builds a reading back from a row of tags and fields (null fields, absent in this point, skipped). */
export function fromRow(row: {
  site: string;
  gateway: string;
  sensor: string;
  kind: string;
  ts: number;
  fields: Record<string, unknown>;
}): StoredReading {
  const values: Record<string, number> = {};
  let q: Quality | undefined;
  for (const [k, v] of Object.entries(row.fields)) {
    if (k === QUALITY_FIELD) {
      if (typeof v === 'string') q = v as Quality;
    } else if (typeof v === 'number') {
      values[k] = v;
    }
  }
  const r: StoredReading = {
    site: row.site,
    gateway: row.gateway,
    sensor: row.sensor,
    kind: row.kind as SensorKind,
    ts: row.ts,
    values,
  };
  if (q !== undefined) r.q = q;
  return r;
}

/** The field every point of a kind carries (the first required value), used to count points. */
export function countField(kind: SensorKind): string {
  return KIND_FIELDS[kind][0] ?? 'x';
}
