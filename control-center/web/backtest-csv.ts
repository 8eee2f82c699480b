/**
 * A backtest file read in the browser, in the format of `slopeguard backtest --readings`: the CSV
 * header `ts,sensor,kind,field,value` (one value per row; the rows of one sensor with the same ts,
 * such as a tilt sensor's x and y, form one reading), or NDJSON readings. The line and time parsers
 * are the CLI's own (cli/backtest/csv.ts, time.ts), so a file the CLI reads reads the same here.
 * Only the shape is checked here; the server checks every reading against the contract and the
 * site file, and runs them.
 */
import { CSV_HEADER, parseCsvLine } from '../../cli/backtest/csv.ts';
import { parseTime } from '../../cli/backtest/time.ts';

export interface UploadReading {
  sensor: string;
  kind: string;
  ts: number;
  values: Record<string, number>;
}

export interface ParsedFile {
  readings: UploadReading[];
  /** Rows that could not be read, with their line numbers (the first 20). */
  problems: string[];
  bad: number;
  /** The file is not a backtest file (no header, no NDJSON): nothing was read. */
  notBacktest: boolean;
  /** More readings than `max`: reading stopped. */
  tooMany: boolean;
}

export function parseBacktestFile(text: string, max: number): ParsedFile {
  const out: ParsedFile = { readings: [], problems: [], bad: 0, notBacktest: false, tooMany: false };
  const problem = (n: number, why: string) => {
    out.bad++;
    if (out.problems.length < 20) out.problems.push(`line ${n}: ${why}`.slice(0, 200));
  };
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  let mode: 'csv' | 'ndjson' | null = null;
  // The group being read: rows with one ts; by sensor.
  let groupTs = Number.NaN;
  let group = new Map<string, UploadReading>();
  const push = (r: UploadReading) => {
    if (out.readings.length >= max) out.tooMany = true;
    else out.readings.push(r);
  };
  const flush = () => {
    for (const r of group.values()) push(r);
    group = new Map();
  };
  for (let i = 0; i < lines.length && !out.tooMany; i++) {
    const n = i + 1;
    const line = (lines[i] as string).replace(/\r$/, '');
    const text = line.trim();
    if (text === '' || text.startsWith('#')) continue;
    if (mode === null) {
      if (text.startsWith('{')) mode = 'ndjson';
      else if (text.toLowerCase().replaceAll(' ', '').replaceAll('"', '') === CSV_HEADER) {
        mode = 'csv';
        continue;
      } else {
        out.notBacktest = true;
        return out;
      }
    }
    if (mode === 'ndjson') {
      try {
        const r = JSON.parse(text) as UploadReading;
        if (typeof r !== 'object' || r === null || typeof r.ts !== 'number') problem(n, 'not a reading');
        else push({ sensor: r.sensor, kind: r.kind, ts: r.ts, values: r.values });
      } catch {
        problem(n, 'not JSON');
      }
      continue;
    }
    const f = parseCsvLine(line);
    if (!f.ok) {
      problem(n, f.error);
      continue;
    }
    if (f.fields.length !== 5) {
      problem(n, `expected 5 fields (${CSV_HEADER}), got ${f.fields.length}`);
      continue;
    }
    const [tsText, sensor, kind, field, valueText] = f.fields as [string, string, string, string, string];
    const t = parseTime(tsText.trim());
    if (!t.ok) {
      problem(n, t.error);
      continue;
    }
    const value = valueText.trim() === '' ? Number.NaN : Number(valueText);
    if (!Number.isFinite(value)) {
      problem(n, `value ${JSON.stringify(valueText.slice(0, 20))} is not a number`);
      continue;
    }
    if (t.ts !== groupTs) {
      flush();
      groupTs = t.ts;
    }
    const r = group.get(sensor);
    if (!r) group.set(sensor, { sensor, kind, ts: t.ts, values: { [field]: value } });
    else if (field in r.values) problem(n, `${sensor}: field ${field} given twice`);
    else r.values[field] = value;
  }
  if (!out.tooMany) flush();
  if (mode === null) out.notBacktest = true;
  return out;
}
