import { SENSOR_KINDS, type SensorKind } from '@slopeguard/core';

/**
 * The Slopeguard line protocol for microcontroller nodes (docs/line-protocol.md is the reference):
 *
 *   $SG,R,<node>,<seq>,<sensor>,<kind>,<field>=<value>[;<field>=<value>...]*HH<CR><LF>   reading
 *   $SG,H,<node>,<seq>,<field>=<value>[;...]*HH<CR><LF>                                   node health
 *   $SG,C,<node|*>,<seq>,<field>=<value>[;...]*HH<CR><LF>                                 command to nodes
 *
 * HH is the XOR of every byte between '$' and '*' (both excluded) as two hex digits, as in NMEA 0183.
 * Parsing is strict and never throws.
 */
export const LINE_MAX = 200;
export const LINE_TALKER = 'SG';

export type Sentence =
  | { type: 'R'; node: string; seq: number; sensor: string; kind: SensorKind; values: Record<string, number> }
  | { type: 'H'; node: string; seq: number; values: Record<string, number> }
  | { type: 'C'; node: string; seq: number; values: Record<string, number> };

export type LineParsed =
  | { ok: true; sentence: Sentence }
  | { ok: false; reason: 'bad_line' | 'checksum'; message: string };

const ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
const FIELD = /^[a-z][a-z0-9_]{0,31}$/;
const NUMBER = /^[+-]?\d{1,15}(?:\.\d{1,9})?(?:[eE][+-]?\d{1,3})?$/;
const SEQ = /^\d{1,5}$/;
const KINDS = new Set<string>(SENSOR_KINDS);
const MAX_FIELDS = 16;

export function xorChecksum(text: string, start = 0, end = text.length): number {
  let x = 0;
  for (let i = start; i < end; i++) x ^= text.charCodeAt(i) & 0xff;
  return x;
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

function bad(message: string): LineParsed {
  return { ok: false, reason: 'bad_line', message };
}

/** Parses one line without its CR LF. */
export function parseLine(line: string): LineParsed {
  if (line.length > LINE_MAX) return bad('line too long');
  if (line.charCodeAt(0) !== 0x24) return bad('no $');
  const star = line.length - 3;
  if (star < 1 || line[star] !== '*') return bad('no *HH at end');
  const hh = line.slice(star + 1);
  if (!/^[0-9A-Fa-f]{2}$/.test(hh)) return bad('checksum is not two hex digits');
  if (Number.parseInt(hh, 16) !== xorChecksum(line, 1, star))
    return { ok: false, reason: 'checksum', message: 'checksum mismatch' };
  const parts = line.slice(1, star).split(',');
  if (parts[0] !== LINE_TALKER) return bad('not an SG sentence');
  const type = parts[1];
  const node = parts[2] ?? '';
  const seqText = parts[3] ?? '';
  if (!SEQ.test(seqText) || Number(seqText) > 65535) return bad('bad sequence number');
  const seq = Number(seqText);
  if (type === 'R') {
    if (parts.length !== 7) return bad('R needs 7 fields');
    const [, , , , sensor = '', kind = '', body = ''] = parts;
    if (!ID.test(node) || !ID.test(sensor)) return bad('bad node or sensor id');
    if (!KINDS.has(kind)) return bad(`unknown kind ${kind.slice(0, 20)}`);
    const values = parseValues(body);
    if (typeof values === 'string') return bad(values);
    return { ok: true, sentence: { type, node, seq, sensor, kind: kind as SensorKind, values } };
  }
  if (type === 'H' || type === 'C') {
    if (parts.length !== 5) return bad(`${type} needs 5 fields`);
    if (!(ID.test(node) || (type === 'C' && node === '*'))) return bad('bad node id');
    const values = parseValues(parts[4] ?? '');
    if (typeof values === 'string') return bad(values);
    return { ok: true, sentence: { type, node, seq, values } };
  }
  return bad('unknown sentence type');
}

/** `a=1.5;b=-2` to a record, or an error message. */
function parseValues(body: string): Record<string, number> | string {
  const pairs = body.split(';');
  if (pairs.length > MAX_FIELDS) return 'too many fields';
  const out: Record<string, number> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq < 1) return 'field without =';
    const k = p.slice(0, eq);
    const v = p.slice(eq + 1);
    if (!FIELD.test(k)) return 'bad field name';
    if (!NUMBER.test(v)) return `bad number for ${k}`;
    if (Object.hasOwn(out, k)) return `duplicate field ${k}`;
    const n = Number(v);
    if (!Number.isFinite(n)) return `value of ${k} out of range`;
    out[k] = n;
  }
  return out;
}

/** Formats a sentence with its checksum and CR LF (virtual nodes, the gateway's commands, tests). */
export function encodeLine(s: Sentence): string {
  const values = Object.entries(s.values)
    .map(([k, v]) => `${k}=${formatNumber(v)}`)
    .join(';');
  const body =
    s.type === 'R'
      ? `${LINE_TALKER},R,${s.node},${s.seq},${s.sensor},${s.kind},${values}`
      : `${LINE_TALKER},${s.type},${s.node},${s.seq},${values}`;
  return `$${body}*${hex2(xorChecksum(body))}\r\n`;
}

/** Plain decimal, at most 9 decimals, no exponent for ordinary magnitudes. */
export function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1e9) / 1e9);
}
