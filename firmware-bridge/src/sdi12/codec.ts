import { encodeSdi12Crc, sdi12Crc } from './crc.ts';

/**
 * SDI-12 v1.4 command strings and response parsers. Responses arrive as lines without <CR><LF>
 * (the framer strips them). Every parser returns a tagged result and never throws: a response that
 * does not match the exact grammar of the standard is rejected, and the master retries.
 */
export type Parsed<T> =
  | { ok: true; value: T }
  | { ok: false; reason: 'bad_response' | 'crc'; message: string };

const ADDRESS = /^[0-9A-Za-z]$/;
/** §4.4.7: a value is a sign, 1-7 digits with an optional decimal point (max 9 chars). */
const VALUE = /[+-](?:\d{1,7}|\d{0,7}\.\d{0,7})(?=[+-]|$)/y;

export function isAddress(a: string): boolean {
  return ADDRESS.test(a);
}

export const commands = {
  /** §4.4.4 address query: only one sensor may be on the bus. */
  addressQuery: () => '?!',
  /** §4.4.6 start measurement; with CRC §4.4.12 (aMC!). */
  measure: (a: string, crc: boolean) => `${a}M${crc ? 'C' : ''}!`,
  /**
   * Start concurrent measurement (aC!; aCC! with CRC): the sensor measures while the master starts
   * others on the same bus; no service request; its data is fetched after the announced time.
   */
  concurrent: (a: string, crc: boolean) => `${a}C${crc ? 'C' : ''}!`,
  /** §4.4.8 send data, page n = 0..9. */
  data: (a: string, page: number) => `${a}D${page}!`,
  acknowledge: (a: string) => `${a}!`,
};

/** Strips bytes a transparent adapter may leave before a response (break artefacts: NUL, 0xFF, ...). */
function trimLead(line: string): string {
  let i = 0;
  while (i < line.length && (line.charCodeAt(i) < 0x20 || line.charCodeAt(i) > 0x7e)) i++;
  return line.slice(i);
}

/** `a` : answer to `?!` or `a!`. */
export function parseAddress(line: string): Parsed<string> {
  const l = trimLead(line);
  if (!ADDRESS.test(l))
    return { ok: false, reason: 'bad_response', message: `not an address: ${JSON.stringify(l)}` };
  return { ok: true, value: l };
}

/** §4.4.6: `atttn` (aM!, aMC!): seconds until data ready, number of values (0-9). */
export function parseMeasure(line: string, address: string): Parsed<{ seconds: number; count: number }> {
  const l = trimLead(line);
  const m = /^([0-9A-Za-z])(\d{3})(\d)$/.exec(l);
  if (!m || m[1] !== address)
    return { ok: false, reason: 'bad_response', message: `bad measure reply ${JSON.stringify(l)}` };
  return { ok: true, value: { seconds: Number(m[2]), count: Number(m[3]) } };
}

/** Reply to aC!/aCC!: `atttnn`, seconds until data is ready and the number of values (00-99). */
export function parseConcurrent(line: string, address: string): Parsed<{ seconds: number; count: number }> {
  const l = trimLead(line);
  const m = /^([0-9A-Za-z])(\d{3})(\d{2})$/.exec(l);
  if (!m || m[1] !== address)
    return { ok: false, reason: 'bad_response', message: `bad concurrent reply ${JSON.stringify(l)}` };
  return { ok: true, value: { seconds: Number(m[2]), count: Number(m[3]) } };
}

/** §4.4.6: the service request `a` a sensor sends when its measurement is ready early. */
export function isServiceRequest(line: string, address: string): boolean {
  return trimLead(line) === address;
}

/**
 * §4.4.8: `a<values>` or, after aMC!, `a<values><CRC>`. An empty page (`a` alone) is valid and
 * means no more values on this page. Values are checked against the grammar strictly.
 */
export function parseData(line: string, address: string, crc: boolean): Parsed<number[]> {
  let l = trimLead(line);
  if (l.length === 0 || l[0] !== address)
    return { ok: false, reason: 'bad_response', message: `bad address in ${JSON.stringify(l)}` };
  if (l.length > 3 + 75 + 1) return { ok: false, reason: 'bad_response', message: 'data line too long' };
  if (crc) {
    if (l.length < 4) return { ok: false, reason: 'crc', message: 'no CRC' };
    const body = l.slice(0, -3);
    if (encodeSdi12Crc(sdi12Crc(body)) !== l.slice(-3))
      return { ok: false, reason: 'crc', message: 'bad CRC' };
    l = body;
  }
  const values: number[] = [];
  VALUE.lastIndex = 1;
  while (VALUE.lastIndex < l.length) {
    const start = VALUE.lastIndex;
    const m = VALUE.exec(l);
    if (!m || m.index !== start)
      return { ok: false, reason: 'bad_response', message: `bad value at ${start} in ${JSON.stringify(l)}` };
    const v = Number(m[0]);
    const digits = m[0].length - 1 - (m[0].includes('.') ? 1 : 0);
    if (!Number.isFinite(v) || digits < 1 || digits > 7) {
      return { ok: false, reason: 'bad_response', message: `bad value ${m[0]}` };
    }
    values.push(v);
  }
  return { ok: true, value: values };
}

/** Formats a value the way §4.4.7 allows: sign, at most 7 digits. Used by virtual sensors and tests. */
export function formatValue(v: number, decimals: number): string {
  const sign = v < 0 ? '-' : '+';
  let s = Math.abs(v).toFixed(decimals);
  while (s.replace('.', '').length > 7 && s.includes('.')) s = s.slice(0, -1);
  if (s.endsWith('.')) s = s.slice(0, -1);
  return sign + s;
}
