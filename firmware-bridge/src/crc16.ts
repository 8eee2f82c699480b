/**
 * CRC-16 with the reflected polynomial 0xA001 (x^16 + x^15 + x^2 + 1), table driven. Modbus RTU uses
 * it with initial value 0xFFFF (CRC-16/MODBUS); SDI-12 uses it with initial value 0 (CRC-16/ARC).
 */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1;
    t[i] = c;
  }
  return t;
})();

export function crc16a001(bytes: Uint8Array, init: number, start = 0, end = bytes.length): number {
  let crc = init & 0xffff;
  for (let i = start; i < end; i++)
    crc = (crc >>> 8) ^ (TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number);
  return crc;
}
