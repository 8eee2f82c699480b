import { crcOk, withCrc } from './crc.ts';

/**
 * Modbus RTU frames for the two read functions this bridge needs (Modbus Application Protocol
 * v1.1b3 §6.3 Read Holding Registers 0x03, §6.4 Read Input Registers 0x04). Pure functions: bytes in,
 * a tagged result out, never a throw.
 */
export type ReadFunction = 3 | 4;

export interface ReadRequest {
  unit: number;
  fc: ReadFunction;
  address: number;
  count: number;
}

/** §6.3: at most 125 registers per read. */
export const MAX_READ_REGISTERS = 125;

export function encodeReadRequest(r: ReadRequest): Uint8Array {
  return withCrc(
    Uint8Array.of(r.unit, r.fc, r.address >>> 8, r.address & 0xff, r.count >>> 8, r.count & 0xff),
  );
}

export function encodeReadResponse(unit: number, fc: ReadFunction, registers: readonly number[]): Uint8Array {
  const body = new Uint8Array(3 + registers.length * 2);
  body[0] = unit;
  body[1] = fc;
  body[2] = registers.length * 2;
  registers.forEach((v, i) => {
    body[3 + i * 2] = (v >>> 8) & 0xff;
    body[4 + i * 2] = v & 0xff;
  });
  return withCrc(body);
}

export function encodeException(unit: number, fc: number, code: number): Uint8Array {
  return withCrc(Uint8Array.of(unit, fc | 0x80, code));
}

export type ResponseScan =
  | { kind: 'ok'; registers: number[]; end: number }
  | { kind: 'exception'; code: number; end: number }
  /** Not yet a whole frame; `why` is what the bytes look like if no more arrive. */
  | { kind: 'incomplete'; why: 'empty' | 'truncated' | 'crc' | 'noise' };

/**
 * Looks for the response to `req` anywhere in `buf`: noise before the answer must not hide it, so
 * every offset that starts with the right unit address is tried and only a frame whose CRC matches
 * is accepted. When several match, the one that ends last wins: the tail of a truncated frame plus
 * the head of the real answer can pass a CRC by chance (1 in 256 for a frame cut by one byte; the
 * fuzz test found it), and the real answer is the last thing the device sent. The master calls
 * this once the line has been silent for 3.5 characters, when the whole answer is in.
 */
export function scanResponse(buf: Uint8Array, req: ReadRequest): ResponseScan {
  if (buf.length === 0) return { kind: 'incomplete', why: 'empty' };
  const dataLen = req.count * 2;
  let why: 'truncated' | 'crc' | 'noise' = 'noise';
  let best: ResponseScan | undefined;
  let bestStart = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] !== req.unit) continue;
    const fc = buf[i + 1];
    if (fc === undefined) {
      why = 'truncated';
      continue;
    }
    let end: number;
    if (fc === req.fc) {
      const n = buf[i + 2];
      if (n === undefined) {
        why = 'truncated';
        continue;
      }
      if (n !== dataLen) continue;
      end = i + 3 + n + 2;
    } else if (fc === (req.fc | 0x80)) {
      end = i + 5;
    } else {
      continue;
    }
    if (end > buf.length) {
      why = 'truncated';
      continue;
    }
    if (!crcOk(buf, i, end)) {
      why = 'crc';
      continue;
    }
    if (best === undefined || end > (best as { end: number }).end) {
      best =
        fc === req.fc
          ? { kind: 'ok', registers: [], end }
          : { kind: 'exception', code: buf[i + 2] as number, end };
      bestStart = i;
    }
  }
  if (best === undefined) return { kind: 'incomplete', why };
  if (best.kind === 'ok') {
    for (let k = 0; k < req.count; k++) {
      best.registers.push(
        ((buf[bestStart + 3 + k * 2] as number) << 8) | (buf[bestStart + 4 + k * 2] as number),
      );
    }
  }
  return best;
}

/** A request as the slave sees it: any function code (it must answer unknown ones with an exception). */
export interface RawRequest {
  unit: number;
  fc: number;
  address: number;
  count: number;
}

export type RequestScan = { kind: 'ok'; request: RawRequest; end: number } | { kind: 'none'; drop: number };

/**
 * Slave side: finds a read request for `units` (any unit when empty) in `buf`. `drop` tells how many
 * leading bytes can never start a frame and may be discarded. Other function codes are reported
 * as requests with their fc so the slave can answer ILLEGAL_FUNCTION.
 */
export function scanRequest(buf: Uint8Array, accepts: (unit: number) => boolean): RequestScan {
  let drop = buf.length;
  for (let i = 0; i < buf.length; i++) {
    const unit = buf[i] as number;
    if (!accepts(unit)) continue;
    if (i + 8 > buf.length) {
      drop = Math.min(drop, i);
      continue;
    }
    if (!crcOk(buf, i, i + 8)) continue;
    const fc = buf[i + 1] as number;
    const address = ((buf[i + 2] as number) << 8) | (buf[i + 3] as number);
    const count = ((buf[i + 4] as number) << 8) | (buf[i + 5] as number);
    return { kind: 'ok', request: { unit, fc, address, count }, end: i + 8 };
  }
  return { kind: 'none', drop };
}
