import { crc16a001 } from '../crc16.ts';

/**
 * SDI-12 v1.4 §4.4.12: CRC-16 (polynomial 0xA001 reflected, initial value 0) over the response from
 * the address through the last value, excluding the CRC itself and <CR><LF>. It is sent as three
 * printable characters, each 0x40 OR six bits: bits 15-12, 11-6, 5-0.
 */
export function sdi12Crc(text: string): number {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return crc16a001(bytes, 0);
}

export function encodeSdi12Crc(crc: number): string {
  return String.fromCharCode(0x40 | (crc >>> 12), 0x40 | ((crc >>> 6) & 0x3f), 0x40 | (crc & 0x3f));
}

/** `text` with its three CRC characters appended. */
export function withSdi12Crc(text: string): string {
  return text + encodeSdi12Crc(sdi12Crc(text));
}
