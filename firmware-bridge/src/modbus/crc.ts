import { crc16a001 } from '../crc16.ts';

/** CRC-16/MODBUS (Modbus over Serial Line v1.02 §6.2.2): init 0xFFFF, sent low byte first. */
export function crcModbus(bytes: Uint8Array, start = 0, end = bytes.length): number {
  return crc16a001(bytes, 0xffff, start, end);
}

/** Appends the CRC, low byte first. */
export function withCrc(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out.set(body);
  const crc = crcModbus(body);
  out[body.length] = crc & 0xff;
  out[body.length + 1] = crc >>> 8;
  return out;
}

/** True when bytes[start, end) ends with the CRC of what precedes it. */
export function crcOk(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start < 3) return false;
  const crc = crcModbus(bytes, start, end - 2);
  return bytes[end - 2] === (crc & 0xff) && bytes[end - 1] === crc >>> 8;
}
