import { createReadStream } from 'node:fs';
import {
  isId,
  missingKindFields,
  type Reading,
  SENSOR_KINDS,
  type SensorKind,
  validateReading,
} from '@slopeguard/core';
import { CSV_HEADER, parseCsvLine } from './csv.ts';
import { parseTime } from './time.ts';

/**
 * Reads a backtest file as readings, with the line number of each, and reports bad rows instead of
 * stopping. The format is chosen by the first non-empty line: `{` starts NDJSON (one Reading per
 * line), otherwise it must be the CSV header `ts,sensor,kind,field,value`.
 *
 * CSV: one value per row; the rows of one sensor with the same ts form one reading (a tilt sensor's
 * x and y). Rows are grouped while their ts stays the same, so the rows of one reading must be
 * together, as a time-sorted export writes them. Blank lines and lines starting with # are skipped.
 *
 * The sink is called in file order; `chunk` after each chunk of the file (to flush output).
 */
export interface Sink {
  reading(r: Reading, line: number): void;
  error(line: number, message: string): void;
  chunk?(): Promise<void>;
}

export class SourceError extends Error {}

/** Parses the line text[start, end) (end excludes the newline), numbered n. */
type LineParser = { parse(text: string, start: number, end: number, n: number): void; end(): void };

export async function readReadings(path: string, sink: Sink): Promise<void> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest = '';
  let lineNo = 0;
  let parser: LineParser | null = null;
  const first = (line: string): LineParser | null => {
    const text = (lineNo === 1 ? line.replace(/^\uFEFF/, '') : line).trim();
    if (text === '' || text.startsWith('#')) return null;
    if (text.startsWith('{')) {
      const p = ndjsonParser(sink);
      p.parse(text, 0, text.length, lineNo);
      return p;
    }
    checkHeader(text, lineNo);
    return csvParser(sink);
  };
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      lineNo++;
      if (parser) parser.parse(text, start, nl, lineNo);
      else parser = first(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    await sink.chunk?.();
  }
  if (rest !== '') {
    lineNo++;
    if (parser) parser.parse(rest, 0, rest.length, lineNo);
    else parser = first(rest);
  }
  if (parser === null) throw new SourceError('the file holds no readings');
  parser.end();
  await sink.chunk?.();
}

function checkHeader(text: string, lineNo: number): void {
  const header = text.toLowerCase().replaceAll(' ', '').replaceAll('"', '');
  if (header !== CSV_HEADER)
    throw new SourceError(
      `line ${lineNo}: expected the CSV header "${CSV_HEADER}" or an NDJSON reading, got ${JSON.stringify(text.slice(0, 80))}`,
    );
}

/**
 * The sensors of a file, by a light scan (no validation): what `backtest` without a site file
 * configures. First kind seen wins. Works on the chunks with offsets (no string per line).
 */
export async function scanSensors(path: string): Promise<Map<string, string>> {
  const sensors = new Map<string, string>();
  const keys = new Set<string>();
  let n = 0;
  let started = false;
  const line = (text: string, start: number, end: number) => {
    n++;
    if (!started) {
      const first = (n === 1 ? text.slice(start, end).replace(/^\uFEFF/, '') : text.slice(start, end)).trim();
      if (first === '' || first.startsWith('#')) return;
      started = true;
      if (!first.startsWith('{')) return checkHeader(first, n);
    }
    if (text.charCodeAt(start) === 123) {
      try {
        const r = JSON.parse(text.slice(start, end)) as { sensor?: unknown; kind?: unknown };
        if (typeof r.sensor === 'string' && typeof r.kind === 'string' && !sensors.has(r.sensor))
          sensors.set(r.sensor, r.kind);
      } catch {
        // a bad line: reported by the real pass
      }
      return;
    }
    const a = text.indexOf(',', start);
    const b = a < 0 || a >= end ? -1 : text.indexOf(',', a + 1);
    const c = b < 0 || b >= end ? -1 : text.indexOf(',', b + 1);
    if (c < 0 || c >= end) return;
    const key = text.slice(a + 1, c);
    if (keys.has(key)) return;
    keys.add(key);
    const [sensor = '', kind = ''] = key.split(',');
    if (!sensors.has(sensor)) sensors.set(sensor, kind);
  };
  let rest = '';
  for await (const chunk of createReadStream(path, {
    encoding: 'utf8',
    highWaterMark: 1 << 20,
  }) as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      line(text, start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== '') line(rest, 0, rest.length);
  return sensors;
}

function ndjsonParser(sink: Sink): LineParser {
  return {
    parse(all, start, end, n) {
      const text = all.slice(start, end).trim();
      if (text === '' || text.startsWith('#')) return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        sink.error(n, `not JSON: ${(err as Error).message}`);
        return;
      }
      const r = validateReading(value);
      if (r.ok) sink.reading(r.value, n);
      else sink.error(n, r.errors.join('; '));
    },
    end() {},
  };
}

const FIELD = /^[a-z][a-z0-9_]{0,31}$/;
const KINDS = new Set<string>(SENSOR_KINDS);

interface Pending {
  reading: Reading;
  line: number;
  fields: number;
}

/** The sensor, kind and field of a row, validated once per distinct "sensor,kind,field" text. */
type RowKey = { sensor: string; kind: SensorKind; field: string } | { error: string };

function checkKey(sensor: string, kind: string, field: string): RowKey {
  if (!isId(sensor)) return { error: `sensor id ${JSON.stringify(sensor)} is not valid` };
  if (!KINDS.has(kind))
    return { error: `kind ${JSON.stringify(kind)} is not one of ${SENSOR_KINDS.join(', ')}` };
  if (!FIELD.test(field)) return { error: `field name ${JSON.stringify(field)} is not valid` };
  return { sensor, kind: kind as SensorKind, field };
}

function csvParser(sink: Sink): LineParser {
  let groupTs = -1;
  const pending = new Map<string, Pending>();
  // Rows repeat the same few (sensor, kind, field) triples and, within a group, the same time:
  // each distinct text is validated once and then found with a single lookup.
  const keys = new Map<string, RowKey>();
  let lastTsText = '';
  let lastTs = 0;
  let qText = '';
  let qPos = -1;

  const flush = () => {
    for (const p of pending.values()) {
      const missing = missingKindFields(p.reading);
      if (missing.length > 0)
        sink.error(
          p.line,
          `${p.reading.sensor} at ${p.reading.ts}: no ${missing.join(', ')} row for this ${p.reading.kind} reading`,
        );
      else sink.reading(p.reading, p.line);
    }
    pending.clear();
  };

  const row = (n: number, tsText: string, key: RowKey, valueText: string) => {
    if ('error' in key) return sink.error(n, key.error);
    let ts: number;
    if (tsText === lastTsText) ts = lastTs;
    else {
      const t = parseTime(tsText.trim());
      if (!t.ok) return sink.error(n, t.error);
      ts = t.ts;
      lastTsText = tsText;
      lastTs = ts;
    }
    // Number('') and Number(' ') are 0: an empty value must not read as zero.
    let value = Number(valueText);
    if (value === 0 && valueText.trim() === '') value = Number.NaN;
    if (!Number.isFinite(value)) return sink.error(n, `value ${JSON.stringify(valueText)} is not a number`);

    if (ts !== groupTs) {
      flush();
      groupTs = ts;
    }
    const { sensor, kind, field } = key;
    const p = pending.get(sensor);
    if (!p) {
      const values: Record<string, number> = {};
      values[field] = value;
      pending.set(sensor, { reading: { sensor, kind, ts, values }, line: n, fields: 1 });
      return;
    }
    if (p.reading.kind !== kind)
      return sink.error(n, `${sensor} is ${p.reading.kind} on line ${p.line}, ${kind} here`);
    if (field in p.reading.values) return sink.error(n, `${sensor} at ${ts}: field ${field} given twice`);
    if (p.fields >= 16) return sink.error(n, `${sensor} at ${ts}: more than 16 fields`);
    p.reading.values[field] = value;
    p.fields++;
  };

  const keyOf = (text: string): RowKey => {
    let k = keys.get(text);
    if (k === undefined) {
      const [sensor = '', kind = '', field = ''] = text.split(',');
      k = checkKey(sensor, kind, field);
      // Bounded: a file of garbage must not grow the cache without end.
      if (keys.size < 10_000) keys.set(text, k);
    }
    return k;
  };

  return {
    parse(text, start, stop, n) {
      const end = stop > start && text.charCodeAt(stop - 1) === 13 ? stop - 1 : stop; // CRLF
      if (end === start || text.charCodeAt(start) === 35) return; // blank or # comment
      // The next quote in this chunk, searched once per chunk and moved forward only when passed
      // (searching from every line to the end of the chunk would be quadratic).
      if (text !== qText) {
        qText = text;
        qPos = text.indexOf('"');
      }
      if (qPos >= 0 && qPos < start) qPos = text.indexOf('"', start);
      if (qPos < 0 || qPos >= end) {
        // Fast path: five plain fields, sliced straight from the chunk.
        const a = text.indexOf(',', start);
        const b = a < 0 || a >= end ? -1 : text.indexOf(',', a + 1);
        const c = b < 0 || b >= end ? -1 : text.indexOf(',', b + 1);
        const d = c < 0 || c >= end ? -1 : text.indexOf(',', c + 1);
        const e = d < 0 || d >= end ? -1 : text.indexOf(',', d + 1);
        if (d < 0 || d >= end || (e >= 0 && e < end))
          return sink.error(
            n,
            `expected 5 fields (${CSV_HEADER}), got ${text.slice(start, end).split(',').length}`,
          );
        return row(n, text.slice(start, a), keyOf(text.slice(a + 1, d)), text.slice(d + 1, end));
      }
      const f = parseCsvLine(text.slice(start, end));
      if (!f.ok) return sink.error(n, f.error);
      if (f.fields.length !== 5)
        return sink.error(n, `expected 5 fields (${CSV_HEADER}), got ${f.fields.length}`);
      const [ts, sensor, kind, field, value] = f.fields as [string, string, string, string, string];
      row(n, ts, checkKey(sensor, kind, field), value);
    },
    end: flush,
  };
}
