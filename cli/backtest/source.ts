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
 * configures. First kind seen wins.
 */
export async function scanSensors(path: string): Promise<Map<string, string>> {
  const sensors = new Map<string, string>();
  const keys = new Set<string>();
  let n = 0;
  let started = false;
  await readRawLines(path, (line) => {
    n++;
    if (!started) {
      const text = (n === 1 ? line.replace(/^\uFEFF/, '') : line).trim();
      if (text === '' || text.startsWith('#')) return;
      started = true;
      if (!text.startsWith('{')) return checkHeader(text, n);
    }
    if (line.startsWith('{')) {
      try {
        const r = JSON.parse(line) as { sensor?: unknown; kind?: unknown };
        if (typeof r.sensor === 'string' && typeof r.kind === 'string' && !sensors.has(r.sensor))
          sensors.set(r.sensor, r.kind);
      } catch {
        // a bad line: reported by the real pass
      }
      return;
    }
    const a = line.indexOf(',');
    const c = line.indexOf(',', line.indexOf(',', a + 1) + 1);
    if (a < 0 || c < 0) return;
    const key = line.slice(a + 1, c);
    if (keys.has(key)) return;
    keys.add(key);
    const [sensor = '', kind = ''] = key.split(',');
    if (sensor !== 'sensor' && !sensors.has(sensor)) sensors.set(sensor, kind);
  });
  return sensors;
}

async function readRawLines(path: string, onLine: (line: string) => void): Promise<void> {
  let rest = '';
  for await (const chunk of createReadStream(path, {
    encoding: 'utf8',
    highWaterMark: 1 << 20,
  }) as AsyncIterable<string>) {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      onLine(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== '') onLine(rest);
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

function csvParser(sink: Sink): LineParser {
  let groupTs = -1;
  const pending = new Map<string, Pending>();
  // Rows repeat the same few sensors, fields and (within a group) times: validate each text once.
  const goodIds = new Set<string>();
  const goodFields = new Set<string>();
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

  const row = (n: number, tsText: string, sensor: string, kind: string, field: string, valueText: string) => {
    let ts: number;
    if (tsText === lastTsText) ts = lastTs;
    else {
      const t = parseTime(tsText.trim());
      if (!t.ok) return sink.error(n, t.error);
      ts = t.ts;
      lastTsText = tsText;
      lastTs = ts;
    }
    if (!goodIds.has(sensor)) {
      if (!isId(sensor)) return sink.error(n, `sensor id ${JSON.stringify(sensor)} is not valid`);
      goodIds.add(sensor);
    }
    if (!KINDS.has(kind))
      return sink.error(n, `kind ${JSON.stringify(kind)} is not one of ${SENSOR_KINDS.join(', ')}`);
    if (!goodFields.has(field)) {
      if (!FIELD.test(field)) return sink.error(n, `field name ${JSON.stringify(field)} is not valid`);
      goodFields.add(field);
    }
    // Number('') and Number(' ') are 0: an empty value must not read as zero.
    let value = Number(valueText);
    if (value === 0 && valueText.trim() === '') value = Number.NaN;
    if (!Number.isFinite(value)) return sink.error(n, `value ${JSON.stringify(valueText)} is not a number`);

    if (ts !== groupTs) {
      flush();
      groupTs = ts;
    }
    const p = pending.get(sensor);
    if (!p) {
      pending.set(sensor, {
        reading: { sensor, kind: kind as SensorKind, ts, values: { [field]: value } },
        line: n,
        fields: 1,
      });
      return;
    }
    if (p.reading.kind !== kind)
      return sink.error(n, `${sensor} is ${p.reading.kind} on line ${p.line}, ${kind} here`);
    if (field in p.reading.values) return sink.error(n, `${sensor} at ${ts}: field ${field} given twice`);
    if (p.fields >= 16) return sink.error(n, `${sensor} at ${ts}: more than 16 fields`);
    p.reading.values[field] = value;
    p.fields++;
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
        return row(
          n,
          text.slice(start, a),
          text.slice(a + 1, b),
          text.slice(b + 1, c),
          text.slice(c + 1, d),
          text.slice(d + 1, end),
        );
      }
      const f = parseCsvLine(text.slice(start, end));
      if (!f.ok) return sink.error(n, f.error);
      if (f.fields.length !== 5)
        return sink.error(n, `expected 5 fields (${CSV_HEADER}), got ${f.fields.length}`);
      const [ts, sensor, kind, field, value] = f.fields as [string, string, string, string, string];
      row(n, ts, sensor, kind, field, value);
    },
    end: flush,
  };
}
