/**
 * The small CSV dialect of `slopeguard backtest` (RFC 4180 fields on one line): comma-separated,
 * fields may be double-quoted with "" for a quote inside; a quoted field may not span lines. A line
 * ending in CR (Windows files) is accepted.
 */
export type CsvFields = { ok: true; fields: string[] } | { ok: false; error: string };

export function parseCsvLine(line: string): CsvFields {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  if (!text.includes('"')) return { ok: true, fields: text.split(',') };
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (text[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return { ok: false, error: 'unterminated quoted field' };
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === text.length) return { ok: true, fields };
      if (text[i] !== ',')
        return { ok: false, error: `unexpected character after a quoted field at column ${i + 1}` };
      i++;
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      const value = text.slice(i, end);
      if (value.includes('"')) return { ok: false, error: `stray quote in field at column ${i + 1}` };
      fields.push(value);
      if (comma < 0) return { ok: true, fields };
      i = comma + 1;
    }
  }
}

/** Quotes a field when it needs it. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export const CSV_HEADER = 'ts,sensor,kind,field,value';

/** The CSV rows of one reading: one row per value field, in the reading's field order. */
export function readingRows(r: {
  ts: number;
  sensor: string;
  kind: string;
  values: Record<string, number>;
}): string[] {
  const head = `${r.ts},${csvField(r.sensor)},${r.kind},`;
  return Object.entries(r.values).map(([field, v]) => `${head}${field},${v}`);
}
