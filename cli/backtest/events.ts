import { readFile } from 'node:fs/promises';
import { parseCsvLine } from './csv.ts';
import { SourceError } from './source.ts';
import { parseTime } from './time.ts';

/**
 * Known events to score a backtest against: a CSV with the header `ts,kind,note` and, for quiet
 * periods, an `end` column (any column order; `note` optional). Times as in the readings (epoch ms
 * or ISO 8601 with an offset).
 *
 * Kinds: `failure`, `landslide` and `movement` are events the site should have warned of;
 * `none-period` is a span known to have had no event (from ts to end): an alarm inside one is a false
 * alarm whatever else the file says.
 */
export const EVENT_KINDS = ['failure', 'landslide', 'movement', 'none-period'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface KnownEvent {
  ts: number;
  kind: EventKind;
  /** End of a none-period; null for the other kinds. */
  end: number | null;
  note: string;
  line: number;
}

export async function readEvents(path: string): Promise<KnownEvent[]> {
  return parseEvents(await readFile(path, 'utf8'), path);
}

/** Parses the whole file; any bad row is an error naming its line (a score on half a file misleads). */
export function parseEvents(text: string, name: string): KnownEvent[] {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  let cols: Record<string, number> | null = null;
  const out: KnownEvent[] = [];
  const errors: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] as string;
    const n = i + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || line.startsWith('#')) continue;
    const f = parseCsvLine(line);
    if (!f.ok) {
      errors.push(`${name}:${n}: ${f.error}`);
      continue;
    }
    if (cols === null) {
      const names = f.fields.map((x) => x.trim().toLowerCase());
      const known = new Set(['ts', 'kind', 'note', 'end']);
      const bad = names.filter((x) => !known.has(x));
      if (
        !names.includes('ts') ||
        !names.includes('kind') ||
        bad.length > 0 ||
        new Set(names).size < names.length
      )
        throw new SourceError(
          `${name}:${n}: expected the header ts,kind,note (and end for none-period), got ${JSON.stringify(line.slice(0, 80))}`,
        );
      cols = Object.fromEntries(names.map((x, k) => [x, k]));
      continue;
    }
    const c: Record<string, number> = cols;
    const get = (k: string) => (c[k] === undefined ? '' : (f.fields[c[k] as number] ?? '').trim());
    if (f.fields.length > Object.keys(c).length) {
      errors.push(`${name}:${n}: ${f.fields.length} fields, the header has ${Object.keys(c).length}`);
      continue;
    }
    const t = parseTime(get('ts'));
    if (!t.ok) {
      errors.push(`${name}:${n}: ${t.error}`);
      continue;
    }
    const kind = get('kind') as EventKind;
    if (!EVENT_KINDS.includes(kind)) {
      errors.push(
        `${name}:${n}: kind ${JSON.stringify(get('kind'))} is not one of ${EVENT_KINDS.join(', ')}`,
      );
      continue;
    }
    let end: number | null = null;
    if (kind === 'none-period') {
      const e = parseTime(get('end'));
      if (!e.ok) {
        errors.push(`${name}:${n}: a none-period needs an end time: ${e.error}`);
        continue;
      }
      if (e.ts <= t.ts) {
        errors.push(`${name}:${n}: the none-period ends before it starts`);
        continue;
      }
      end = e.ts;
    } else if (get('end') !== '') {
      errors.push(`${name}:${n}: only a none-period has an end time`);
      continue;
    }
    out.push({ ts: t.ts, kind, end, note: get('note'), line: n });
  }
  if (errors.length > 0) throw new SourceError(errors.slice(0, 20).join('\n'));
  if (cols === null) throw new SourceError(`${name}: no header`);
  return out.sort((a, b) => a.ts - b.ts);
}
