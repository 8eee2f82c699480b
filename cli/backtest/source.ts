import { open } from 'node:fs/promises';
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
  /**
   * With `transient`, the Reading passed is only valid during the call (the reader reuses one per
   * sensor instead of allocating one per reading): copy what must be kept.
   */
  transient?: boolean;
  reading(r: Reading, line: number): void;
  error(line: number, message: string): void;
  chunk?(): Promise<void>;
}

export class SourceError extends Error {}

/**
 * Parses the line buf[start, end) (end excludes the newline), numbered n. The file is read as bytes
 * and split at newline bytes (a newline byte never occurs inside a multi-byte UTF-8 character); a
 * line is decoded to a string only when a parser needs one.
 */
interface LineParser {
  parse(buf: Buffer, start: number, end: number, n: number): void;
  /**
   * Parses every line of buf from `from` that ends in a newline, numbering them from `n`, and
   * returns the index after the last of them; `lines` is then the number of the last line parsed.
   */
  scan(buf: Buffer, from: number, n: number): number;
  lines: number;
  end(): void;
}

/**
 * Feeds a file to `feed` chunk by chunk (`feed` parses the complete lines from `start` and returns
 * the index after the last one), then its last line if no newline ends it; `chunk` after each chunk.
 * The per-byte work is in `feed`, a plain function: this async function's loop would be compiled
 * again (on-stack replacement) after every await, and ran mostly unoptimized. One buffer is read
 * into again and again (a stream's fresh 1 MB buffer per chunk made the GC run for the external
 * memory); the unfinished line at its end is moved to its start, and the buffer grows only for a
 * line longer than itself.
 */
async function eachChunk(
  path: string,
  feed: (buf: Buffer, start: number) => number,
  last: (buf: Buffer) => void,
  chunk?: () => Promise<void>,
): Promise<void> {
  const file = await open(path, 'r');
  try {
    let buf = Buffer.allocUnsafe(CHUNK);
    let kept = 0;
    for (;;) {
      if (kept === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, kept);
        buf = bigger;
      }
      const { bytesRead } = await file.read(buf, kept, buf.length - kept, null);
      if (bytesRead === 0) break;
      const len = kept + bytesRead;
      const done = feed(len === buf.length ? buf : buf.subarray(0, len), 0);
      kept = len - done;
      if (kept > 0 && done > 0) buf.copy(buf, 0, done, len);
      await chunk?.();
    }
    if (kept > 0) last(buf.subarray(0, kept));
  } finally {
    await file.close();
  }
}

const CHUNK = 1 << 20;

/** Calls `line` for each line of buf[from, ...) that ends in a newline; returns the index after the last. */
function splitLines(
  buf: Buffer,
  from: number,
  line: (buf: Buffer, start: number, end: number) => void,
): number {
  let start = from;
  const len = buf.length;
  // Newlines found by a loop over the bytes: Buffer#indexOf is a call into C++ per line, which
  // costs more than scanning a short row here.
  for (let i = from; i < len; i++) {
    if (buf[i] !== 10) continue;
    line(buf, start, i);
    start = i + 1;
  }
  return start;
}

export async function readReadings(path: string, sink: Sink): Promise<void> {
  let lineNo = 0;
  let parser: LineParser | null = null;
  const first = (line: string): LineParser | null => {
    const text = (lineNo === 1 ? line.replace(/^\uFEFF/, '') : line).trim();
    if (text === '' || text.startsWith('#')) return null;
    if (text.startsWith('{')) {
      const p = ndjsonParser(sink);
      p.parse(Buffer.from(text), 0, Buffer.byteLength(text), lineNo);
      return p;
    }
    checkHeader(text, lineNo);
    return csvParser(sink);
  };
  const feed = (buf: Buffer, start: number): number => {
    let from = start;
    // Line by line until the first line that says the format.
    while (parser === null) {
      const nl = buf.indexOf(10, from);
      if (nl < 0) return from;
      lineNo++;
      parser = first(buf.toString('utf8', from, nl));
      from = nl + 1;
    }
    const done = parser.scan(buf, from, lineNo + 1);
    lineNo = parser.lines;
    return done;
  };
  await eachChunk(
    path,
    feed,
    (buf) => {
      lineNo++;
      if (parser) parser.parse(buf, 0, buf.length, lineNo);
      else parser = first(buf.toString('utf8'));
    },
    async () => {
      await sink.chunk?.();
    },
  );
  if (parser === null) throw new SourceError('the file holds no readings');
  // TypeScript cannot see that the callbacks above may have set it.
  (parser as LineParser).end();
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
 * configures. First kind seen wins. Works on the bytes: a line's "sensor,kind" is decoded only the
 * first time those bytes are seen, and a row whose "sensor,kind" is the one that followed the
 * previous row's last time is recognised by comparing bytes while walking to its end.
 */
export async function scanSensors(path: string): Promise<Map<string, string>> {
  const sensors = new Map<string, string>();
  const keys = new Set<string>();
  const seen = new ByteKeys<true>();
  let n = 0;
  let started = false;
  const line = (buf: Buffer, start: number, end: number) => {
    n++;
    if (!started) {
      const text = buf.toString('utf8', start, end);
      const first = (n === 1 ? text.replace(/^\uFEFF/, '') : text).trim();
      if (first === '' || first.startsWith('#')) return;
      started = true;
      if (!first.startsWith('{')) return checkHeader(first, n);
    }
    if (buf[start] === 123) {
      try {
        const r = JSON.parse(buf.toString('utf8', start, end)) as { sensor?: unknown; kind?: unknown };
        if (typeof r.sensor === 'string' && typeof r.kind === 'string' && !sensors.has(r.sensor))
          sensors.set(r.sensor, r.kind);
      } catch {
        // a bad line: reported by the real pass
      }
      return;
    }
    // The first three commas, by a loop over the bytes (Buffer#indexOf is a call into C++).
    let a = -1;
    let c = -1;
    let commas = 0;
    for (let i = start; i < end; i++) {
      if (buf[i] !== 44) continue;
      if (++commas === 1) a = i;
      else if (commas === 3) {
        c = i;
        break;
      }
    }
    if (c < 0) return;
    if (seen.get(buf, a + 1, c) !== undefined) return;
    seen.set(buf, a + 1, c, true);
    const key = buf.toString('utf8', a + 1, c);
    if (keys.has(key)) return;
    keys.add(key);
    const [sensor = '', kind = ''] = key.split(',');
    if (!sensors.has(sensor)) sensors.set(sensor, kind);
  };
  const feed = (buf: Buffer, from: number): number => {
    // Every line up to the last newline ends in one: the loops below stop there at the latest.
    const stop = buf.lastIndexOf(10);
    let start = from;
    while (start <= stop) {
      let i = start;
      if (started && buf[i] !== 123) {
        while (buf[i] !== 44 && buf[i] !== 10) i++;
        // A tilt sensor's x and y rows have the same "sensor,kind": the last one, then the next.
        const again = buf[i] === 44 ? seen.same(buf, i + 1) : null;
        const guess = again ?? seen.guess();
        if (buf[i] === 44 && guess !== null) {
          const k0 = i + 1;
          const bytes = guess.bytes;
          const kl = bytes.length;
          let j = 0;
          while (j < kl && buf[k0 + j] === bytes[j]) j++;
          if (j === kl && buf[k0 + kl] === 44) {
            // Seen before: on to the end of the line.
            if (again === null) seen.hit(guess);
            i = k0 + kl + 1;
            while (buf[i] !== 10) i++;
            n++;
            start = i + 1;
            continue;
          }
        }
      }
      while (buf[i] !== 10) i++;
      line(buf, start, i);
      start = i + 1;
    }
    return start;
  };
  await eachChunk(path, feed, (buf) => line(buf, 0, buf.length));
  return sensors;
}

/**
 * A small map from byte strings (a slice of a buffer) to values, without making a string of the
 * slice: FNV-1a hash, then a byte-by-byte check. Bounded: a file of garbage must not grow it.
 */
class ByteKeys<T> {
  readonly #buckets = new Map<number, ByteKey<T>[]>();
  #size = 0;
  /**
   * The entry found last. Rows come in a repeating order (one row per sensor and field, sensor
   * after sensor), so the entry that followed it last time is compared first, without hashing.
   */
  #prev: ByteKey<T> | null = null;
  static hash(buf: Uint8Array, start: number, end: number): number {
    let h = 0x811c9dc5;
    for (let i = start; i < end; i++) h = Math.imul(h ^ (buf[i] as number), 0x01000193);
    return h;
  }
  static same(bytes: Uint8Array, buf: Uint8Array, start: number, end: number): boolean {
    const len = end - start;
    if (bytes.length !== len) return false;
    for (let i = 0; i < len; i++) if (bytes[i] !== buf[start + i]) return false;
    return true;
  }
  /** The entry expected next: the one that followed the last entry found, last time. */
  guess(): ByteKey<T> | null {
    return this.#prev?.follow ?? null;
  }
  /** The entry found last if buf[start, ...) starts with its bytes and a comma. */
  same(buf: Uint8Array, start: number): ByteKey<T> | null {
    const e = this.#prev;
    if (e === null) return null;
    const bytes = e.bytes;
    const len = bytes.length;
    for (let i = 0; i < len; i++) if (bytes[i] !== buf[start + i]) return null;
    return buf[start + len] === 44 ? e : null;
  }
  /** Notes that `e` was found (after the previous one). */
  hit(e: ByteKey<T>): void {
    const prev = this.#prev;
    if (prev !== null && prev.follow !== e) prev.follow = e;
    this.#prev = e;
  }
  find(buf: Uint8Array, start: number, end: number): ByteKey<T> | undefined {
    const guess = this.guess();
    if (guess && ByteKeys.same(guess.bytes, buf, start, end)) return guess;
    const list = this.#buckets.get(ByteKeys.hash(buf, start, end));
    if (list === undefined) return undefined;
    for (const e of list) if (ByteKeys.same(e.bytes, buf, start, end)) return e;
    return undefined;
  }
  get(buf: Uint8Array, start: number, end: number): T | undefined {
    const e = this.find(buf, start, end);
    if (e === undefined) return undefined;
    this.hit(e);
    return e.value;
  }
  /** Adds an entry (and notes it found), or returns null when full. */
  set(buf: Uint8Array, start: number, end: number, value: T): ByteKey<T> | null {
    if (this.#size >= 10_000) return null;
    const h = ByteKeys.hash(buf, start, end);
    const list = this.#buckets.get(h) ?? [];
    const e = { bytes: buf.slice(start, end), value, follow: null };
    list.push(e);
    this.#buckets.set(h, list);
    this.#size++;
    this.hit(e);
    return e;
  }
}

interface ByteKey<T> {
  bytes: Uint8Array;
  value: T;
  /** The entry found right after this one, last time. */
  follow: ByteKey<T> | null;
}

function ndjsonParser(sink: Sink): LineParser {
  const p: LineParser = {
    lines: 0,
    scan(buf, from, n) {
      p.lines = n - 1;
      return splitLines(buf, from, (b, start, end) => p.parse(b, start, end, ++p.lines));
    },
    parse(buf, start, end, n) {
      const text = buf.toString('utf8', start, end).trim();
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
  return p;
}

const NONE: readonly string[] = [];

/** values[field] = value, with a named store for the usual fields (a store by a variable name is slower). */
function setValue(values: Record<string, number>, field: string, value: number): void {
  if (field === 'mm') values.mm = value;
  else if (field === 'x') values.x = value;
  else if (field === 'y') values.y = value;
  else values[field] = value;
}

/** Whether the reading has every field of its kind as a finite number (missingKindFields is empty). */
function hasKindFields(r: Reading): boolean {
  const v = r.values;
  switch (r.kind) {
    case 'tilt':
      return Number.isFinite(v.x) && Number.isFinite(v.y);
    case 'rain':
    case 'displacement':
      return Number.isFinite(v.mm);
    default:
      return missingKindFields(r).length === 0;
  }
}

const FIELD = /^[a-z][a-z0-9_]{0,31}$/;
const KINDS = new Set<string>(SENSOR_KINDS);

interface Pending {
  reading: Reading;
  line: number;
  fields: number;
  /**
   * The group (run of rows with one ts) it belongs to, and the fields given in it, in order: the
   * first `fields` entries of `names` (entries beyond are left from a group before; an array's
   * length set back to 0 drops its store, and the next push allocates a new one).
   */
  group: number;
  names: string[];
  /** The own keys of reading.values, in order (more than `names` when reused from a group before). */
  own: string[];
}

/** The sensor, kind and field of a row, validated once per distinct "sensor,kind,field" text. */
type RowKey = GoodKey | { error: string };
interface GoodKey {
  sensor: string;
  kind: SensorKind;
  field: string;
  /** `field in Object.prototype` (a fresh values object would already have it). */
  inherited: boolean;
  /** The sensor's reused reading (a transient sink's readings are kept per sensor for good). */
  slot: Pending | null;
}

function checkKey(sensor: string, kind: string, field: string): RowKey {
  if (!isId(sensor)) return { error: `sensor id ${JSON.stringify(sensor)} is not valid` };
  if (!KINDS.has(kind))
    return { error: `kind ${JSON.stringify(kind)} is not one of ${SENSOR_KINDS.join(', ')}` };
  if (!FIELD.test(field)) return { error: `field name ${JSON.stringify(field)} is not valid` };
  return { sensor, kind: kind as SensorKind, field, inherited: field in Object.prototype, slot: null };
}

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/** Epoch ms written as 1 to 15 ASCII digits (what parseTime reads as Number(text)), else -1. */
function plainInt(buf: Buffer, start: number, end: number): number {
  if (end - start < 1 || end - start > 15) return -1;
  let x = 0;
  for (let i = start; i < end; i++) {
    const c = (buf[i] as number) - 48;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/**
 * A plain decimal (-?digits[.digits], at most 15 digits) read straight from the bytes, else NaN
 * (the caller then uses Number on the text). Exactly Number(text): the digits are an exact integer
 * below 2^53 and 10^k is exact for k <= 22, so one division rounds once, correctly.
 */
function plainDecimal(buf: Buffer, start: number, end: number): number {
  let i = start;
  const neg = buf[i] === 45;
  if (neg) i++;
  let m = 0;
  let digits = 0;
  let point = -1;
  for (; i < end; i++) {
    const c = buf[i] as number;
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
    } else if (c === 46 && point < 0) point = digits;
    else return Number.NaN;
  }
  if (digits === 0 || digits > 15) return Number.NaN;
  const x = point < 0 || point === digits ? m : m / (POW10[digits - point] as number);
  return neg ? -x : x;
}

function csvParser(sink: Sink): LineParser {
  let groupTs = -1;
  let group = 0;
  const transient = sink.transient === true;
  // The readings of the current group, in the order of their first row; by sensor (kept across
  // groups, for reuse, when the sink takes transient readings).
  const order: Pending[] = [];
  // How many of `order` are the current group's (its length is not set back: see Pending.names).
  let pending = 0;
  const slots = new Map<string, Pending>();
  // Rows repeat the same few (sensor, kind, field) triples and, within a group, the same time:
  // each distinct text is validated once and then found with a single lookup (by its bytes on the
  // fast path, without making a string of it).
  const keys = new Map<string, RowKey>();
  const byteKeys = new ByteKeys<RowKey>();
  let lastTsText = '';
  let lastTs = 0;

  /** A reused reading's values hold exactly the fields of its group, in their order. */
  const settle = (p: Pending) => {
    const { own, names, fields } = p;
    let same = own.length === fields;
    for (let i = 0; same && i < fields; i++) same = own[i] === names[i];
    if (same) return;
    const values: Record<string, number> = {};
    for (let i = 0; i < fields; i++) {
      const f = names[i] as string;
      values[f] = p.reading.values[f] as number;
    }
    p.reading.values = values;
    p.own = names.slice(0, fields);
  };

  const flush = () => {
    for (let i = 0; i < pending; i++) {
      const p = order[i] as Pending;
      if (transient) settle(p);
      const missing = hasKindFields(p.reading) ? NONE : missingKindFields(p.reading);
      if (missing.length > 0)
        sink.error(
          p.line,
          `${p.reading.sensor} at ${p.reading.ts}: no ${missing.join(', ')} row for this ${p.reading.kind} reading`,
        );
      else sink.reading(p.reading, p.line);
    }
    pending = 0;
    group++;
    if (!transient) slots.clear();
  };

  /** The time of a row from its text, or an error (reported): the text path. */
  const timeOf = (n: number, tsText: string): number | null => {
    if (tsText === lastTsText) return lastTs;
    const t = parseTime(tsText.trim());
    if (!t.ok) {
      sink.error(n, t.error);
      return null;
    }
    lastTsText = tsText;
    lastTs = t.ts;
    return t.ts;
  };

  /** The value of a row from its text, or an error (reported): the text path. */
  const numberOf = (n: number, valueText: string): number | null => {
    // Number('') and Number(' ') are 0: an empty value must not read as zero.
    let value = Number(valueText);
    if (value === 0 && valueText.trim() === '') value = Number.NaN;
    if (Number.isFinite(value)) return value;
    sink.error(n, `value ${JSON.stringify(valueText)} is not a number`);
    return null;
  };

  /** A row whose key, time and value were checked (in that order): grouped into readings. */
  // The time and value of the row given to `add`: passed in a typed array, as a double passed to a
  // call that is not inlined is boxed (a heap number per row).
  const row0 = new Float64Array(2);
  // The digits of the last time `row` read, and their value, for the next rows to compare.
  const tsDigits = { bytes: new Uint8Array(15), value: 0 };
  let tsLen = 0;
  const add = (n: number, key: GoodKey) => {
    const ts = row0[0] as number;
    const value = row0[1] as number;
    if (ts !== groupTs) {
      flush();
      groupTs = ts;
    }
    const { sensor, kind, field } = key;
    // A transient sink's slots stay: the key keeps its sensor's, saving a lookup by name per row.
    const p = key.slot ?? slots.get(sensor);
    if (transient && key.slot === null && p !== undefined) key.slot = p;
    if (p === undefined || p.group !== group) {
      if (p === undefined || !transient) {
        const values: Record<string, number> = {};
        values[field] = value;
        const q = {
          reading: { sensor, kind, ts, values },
          line: n,
          fields: 1,
          group,
          names: [field],
          own: [field],
        };
        slots.set(sensor, q);
        order[pending++] = q;
        return;
      }
      p.reading.kind = kind;
      p.reading.ts = ts;
      p.line = n;
      p.fields = 1;
      p.group = group;
      p.names[0] = field;
      if (!p.own.includes(field)) p.own.push(field);
      setValue(p.reading.values, field, value);
      order[pending++] = p;
      return;
    }
    if (p.reading.kind !== kind)
      return sink.error(n, `${sensor} is ${p.reading.kind} on line ${p.line}, ${kind} here`);
    // As `field in values` of a fresh values object (which also sees Object.prototype's names).
    let twice = key.inherited;
    for (let i = 0; !twice && i < p.fields; i++) twice = p.names[i] === field;
    if (twice) return sink.error(n, `${sensor} at ${ts}: field ${field} given twice`);
    if (p.fields >= 16) return sink.error(n, `${sensor} at ${ts}: more than 16 fields`);
    if (!p.own.includes(field)) p.own.push(field);
    setValue(p.reading.values, field, value);
    p.names[p.fields++] = field;
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

  /**
   * The row starting at buf[start], numbered n, if it is the usual one, read in one pass over its
   * bytes: epoch-ms digits, the "sensor,kind,field" that followed the previous row's last time
   * (compared byte by byte; else found by its hash), a plain decimal, the newline; returns the
   * index after its newline. Anything else (a quote, an ISO time, an exponent, a bad field, a blank
   * or comment line) returns -1 before any effect, and the line goes to `parse`.
   */
  const row = (buf: Buffer, start: number, n: number): number => {
    let i = start;
    let ts: number;
    // The rows of one reading time share their time's text: compared with the previous row's
    // digits (independent comparisons) before they are read as a number (a chain of multiplies).
    const tl = tsLen;
    let same = tl > 0;
    for (let j = 0; same && j < tl; j++) same = buf[start + j] === tsDigits.bytes[j];
    if (same && buf[start + tl] === 44) {
      ts = tsDigits.value;
      i = start + tl;
    } else {
      let c = buf[i] as number;
      ts = 0;
      while (c >= 48 && c <= 57) {
        ts = ts * 10 + (c - 48);
        c = buf[++i] as number;
      }
      if (c !== 44 || i === start || i - start > 15) return -1;
      tsLen = i - start;
      for (let t = 0; t < tsLen; t++) tsDigits.bytes[t] = buf[start + t] as number;
      tsDigits.value = ts;
    }
    const k0 = i + 1;
    let d = -1;
    let entry = byteKeys.guess();
    if (entry !== null) {
      const bytes = entry.bytes;
      const kl = bytes.length;
      let j = 0;
      while (j < kl && buf[k0 + j] === bytes[j]) j++;
      if (j === kl && buf[k0 + kl] === 44) d = k0 + kl;
    }
    let key: RowKey;
    if (d >= 0 && entry !== null) {
      byteKeys.hit(entry);
      key = entry.value;
    } else {
      // The third comma after the time's, before any quote or the newline.
      let commas = 0;
      let j = k0;
      for (; ; j++) {
        const ch = buf[j];
        if (ch === 44) {
          if (++commas === 3) break;
        } else if (ch === 10 || ch === 34) break;
      }
      if (commas !== 3) return -1;
      d = j;
      entry = byteKeys.find(buf, k0, d) ?? null;
      if (entry !== null) {
        byteKeys.hit(entry);
        key = entry.value;
      } else {
        key = keyOf(buf.toString('utf8', k0, d));
        byteKeys.set(buf, k0, d, key);
      }
    }
    if ('error' in key) return -1;
    // As plainDecimal: -?digits[.digits], 1 to 15 digits, then the newline (or CR LF).
    let j = d + 1;
    const neg = buf[j] === 45;
    if (neg) j++;
    let m = 0;
    let digits = 0;
    let point = -1;
    let ch = buf[j] as number;
    for (;;) {
      if (ch >= 48 && ch <= 57) {
        m = m * 10 + (ch - 48);
        digits++;
      } else if (ch === 46 && point < 0) point = digits;
      else break;
      ch = buf[++j] as number;
    }
    if (ch === 13 && buf[j + 1] === 10) j++;
    else if (ch !== 10) return -1;
    if (digits === 0 || digits > 15) return -1;
    const x = point < 0 || point === digits ? m : m / (POW10[digits - point] as number);
    row0[0] = ts;
    row0[1] = neg ? -x : x;
    add(n, key);
    return j + 1;
  };

  const scan = (buf: Buffer, from: number, n0: number): number => {
    // Every line up to the last newline ends in one: the loops stop there at the latest.
    const stop = buf.lastIndexOf(10);
    let n = n0 - 1;
    let start = from;
    while (start <= stop) {
      n++;
      const next = row(buf, start, n);
      if (next >= 0) {
        start = next;
        continue;
      }
      let i = start;
      while (buf[i] !== 10) i++;
      parse(buf, start, i, n);
      start = i + 1;
    }
    parser.lines = n;
    return start;
  };

  /** Any line, from its text where needed; reports what is wrong with it. */
  function parse(buf: Buffer, start: number, stop: number, n: number) {
    const end = stop > start && buf[stop - 1] === 13 ? stop - 1 : stop; // CRLF
    if (end === start || buf[start] === 35) return; // blank or # comment
    // One pass over the bytes for the commas; a quote sends the line to the full CSV parser.
    let a = -1;
    let d = -1;
    let commas = 0;
    let quote = false;
    for (let i = start; i < end; i++) {
      const ch = buf[i];
      if (ch === 44) {
        if (commas === 0) a = i;
        else if (commas === 3) d = i;
        commas++;
      } else if (ch === 34) {
        quote = true;
        break;
      }
    }
    if (!quote) {
      if (commas !== 4) return sink.error(n, `expected 5 fields (${CSV_HEADER}), got ${commas + 1}`);
      // Fast path: five plain fields read from the bytes.
      let key = byteKeys.get(buf, a + 1, d);
      if (key === undefined) {
        key = keyOf(buf.toString('utf8', a + 1, d));
        byteKeys.set(buf, a + 1, d, key);
      }
      if ('error' in key) return sink.error(n, key.error);
      let ts: number | null = plainInt(buf, start, a);
      if (ts < 0) ts = timeOf(n, buf.toString('utf8', start, a));
      if (ts === null) return;
      let value: number | null = plainDecimal(buf, d + 1, end);
      if (Number.isNaN(value)) value = numberOf(n, buf.toString('utf8', d + 1, end));
      if (value === null) return;
      row0[0] = ts;
      row0[1] = value;
      return add(n, key);
    }
    const f = parseCsvLine(buf.toString('utf8', start, end));
    if (!f.ok) return sink.error(n, f.error);
    if (f.fields.length !== 5)
      return sink.error(n, `expected 5 fields (${CSV_HEADER}), got ${f.fields.length}`);
    const [tsText, sensor, kind, field, valueText] = f.fields as [string, string, string, string, string];
    const key = checkKey(sensor, kind, field);
    if ('error' in key) return sink.error(n, key.error);
    const ts = timeOf(n, tsText);
    if (ts === null) return;
    const value = numberOf(n, valueText);
    if (value === null) return;
    row0[0] = ts;
    row0[1] = value;
    add(n, key);
  }

  const parser: LineParser = {
    lines: 0,
    scan,
    parse: (buf, start, stop, n) => parse(buf, start, stop, n),
    end: flush,
  };
  return parser;
}
