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
 */
export type Item =
  | { type: 'reading'; reading: Reading; line: number }
  | { type: 'error'; line: number; message: string };

export class SourceError extends Error {}

const FIELD = /^[a-z][a-z0-9_]{0,31}$/;
const KINDS = new Set<string>(SENSOR_KINDS);

interface Pending {
  reading: Reading;
  line: number;
  fields: number;
}

/** Yields batches of items (one batch per chunk read) in file order. */
export async function* readItems(path: string): AsyncGenerator<Item[]> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  let rest = '';
  let lineNo = 0;
  let parse: ((line: string, n: number, out: Item[]) => void) | null = null;
  let flush: ((out: Item[]) => void) | null = null;
  for await (const chunk of stream as AsyncIterable<string>) {
    const text = rest + chunk;
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    const out: Item[] = [];
    for (const line of lines) {
      lineNo++;
      if (parse === null) {
        const first = (lineNo === 1 ? line.replace(/^\uFEFF/, '') : line).trim();
        if (first === '' || first.startsWith('#')) continue;
        if (first.startsWith('{')) {
          parse = parseNdjson;
          parse(first, lineNo, out);
          continue;
        }
        const header = first.toLowerCase().replaceAll(' ', '').replaceAll('"', '');
        if (header !== CSV_HEADER)
          throw new SourceError(
            `line ${lineNo}: expected the CSV header "${CSV_HEADER}" or an NDJSON reading, got ${JSON.stringify(first.slice(0, 80))}`,
          );
        const csv = csvParser();
        parse = csv.parse;
        flush = csv.flush;
        continue;
      }
      parse(line, lineNo, out);
    }
    yield out;
  }
  const out: Item[] = [];
  if (rest !== '') {
    lineNo++;
    if (parse) parse(rest, lineNo, out);
  }
  flush?.(out);
  if (parse === null) throw new SourceError('the file holds no readings');
  yield out;
}

function parseNdjson(line: string, n: number, out: Item[]): void {
  const text = line.trim();
  if (text === '' || text.startsWith('#')) return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    out.push({ type: 'error', line: n, message: `not JSON: ${(err as Error).message}` });
    return;
  }
  const r = validateReading(value);
  if (r.ok) out.push({ type: 'reading', reading: r.value, line: n });
  else out.push({ type: 'error', line: n, message: r.errors.join('; ') });
}

function csvParser() {
  let groupTs = -1;
  const pending = new Map<string, Pending>();

  const flush = (out: Item[]) => {
    for (const p of pending.values()) {
      const missing = missingKindFields(p.reading);
      if (missing.length > 0)
        out.push({
          type: 'error',
          line: p.line,
          message: `${p.reading.sensor} at ${p.reading.ts}: no ${missing.join(', ')} row for this ${p.reading.kind} reading`,
        });
      else out.push({ type: 'reading', reading: p.reading, line: p.line });
    }
    pending.clear();
  };

  const parse = (line: string, n: number, out: Item[]) => {
    if (line === '' || line === '\r' || line.startsWith('#')) return;
    const f = parseCsvLine(line);
    if (!f.ok) return void out.push({ type: 'error', line: n, message: f.error });
    const cols = f.fields;
    if (cols.length !== 5)
      return void out.push({
        type: 'error',
        line: n,
        message: `expected 5 fields (${CSV_HEADER}), got ${cols.length}`,
      });
    const [tsText, sensor, kind, field, valueText] = cols as [string, string, string, string, string];
    const t = parseTime(tsText.trim());
    if (!t.ok) return void out.push({ type: 'error', line: n, message: t.error });
    if (!isId(sensor))
      return void out.push({
        type: 'error',
        line: n,
        message: `sensor id ${JSON.stringify(sensor)} is not valid`,
      });
    if (!KINDS.has(kind))
      return void out.push({
        type: 'error',
        line: n,
        message: `kind ${JSON.stringify(kind)} is not one of ${SENSOR_KINDS.join(', ')}`,
      });
    if (!FIELD.test(field))
      return void out.push({
        type: 'error',
        line: n,
        message: `field name ${JSON.stringify(field)} is not valid`,
      });
    const value = valueText.trim() === '' ? Number.NaN : Number(valueText);
    if (!Number.isFinite(value))
      return void out.push({
        type: 'error',
        line: n,
        message: `value ${JSON.stringify(valueText)} is not a number`,
      });

    if (t.ts !== groupTs) {
      flush(out);
      groupTs = t.ts;
    }
    const p = pending.get(sensor);
    if (!p) {
      pending.set(sensor, {
        reading: { sensor, kind: kind as SensorKind, ts: t.ts, values: { [field]: value } },
        line: n,
        fields: 1,
      });
      return;
    }
    if (p.reading.kind !== kind)
      return void out.push({
        type: 'error',
        line: n,
        message: `${sensor} is ${p.reading.kind} on line ${p.line}, ${kind} here`,
      });
    if (field in p.reading.values)
      return void out.push({
        type: 'error',
        line: n,
        message: `${sensor} at ${t.ts}: field ${field} given twice`,
      });
    if (p.fields >= 16)
      return void out.push({ type: 'error', line: n, message: `${sensor} at ${t.ts}: more than 16 fields` });
    p.reading.values[field] = value;
    p.fields++;
  };
  return { parse, flush };
}
