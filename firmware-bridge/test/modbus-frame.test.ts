import { describe, expect, it } from 'vitest';
import { crcModbus, withCrc } from '../src/modbus/crc.ts';
import { exceptionName } from '../src/modbus/exceptions.ts';
import {
  encodeException,
  encodeReadRequest,
  encodeReadResponse,
  type ReadRequest,
  scanRequest,
  scanResponse,
} from '../src/modbus/frame.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const req: ReadRequest = { unit: 1, fc: 3, address: 0, count: 2 };

describe('CRC-16/MODBUS (Modbus over Serial Line v1.02 §6.2.2)', () => {
  it('has the catalogue check value 0x4B37 for "123456789"', () => {
    expect(crcModbus(new TextEncoder().encode('123456789'))).toBe(0x4b37);
  });
  it('appends low byte first: 01 03 00 00 00 0A -> C5 CD', () => {
    expect(hex(withCrc(Uint8Array.of(1, 3, 0, 0, 0, 10)))).toBe('01030000000ac5cd');
    expect(hex(encodeReadRequest({ unit: 1, fc: 3, address: 0, count: 10 }))).toBe('01030000000ac5cd');
  });
});

describe('scanResponse', () => {
  const good = encodeReadResponse(1, 3, [0x1234, 0xfedc]);

  it('decodes a whole response', () => {
    expect(scanResponse(good, req)).toEqual({ kind: 'ok', registers: [0x1234, 0xfedc], end: 9 });
  });
  it('waits while the frame is incomplete and calls it truncated', () => {
    expect(scanResponse(good.subarray(0, 6), req)).toEqual({ kind: 'incomplete', why: 'truncated' });
    expect(scanResponse(new Uint8Array(0), req)).toEqual({ kind: 'incomplete', why: 'empty' });
  });
  it('rejects a bad CRC', () => {
    const bad = Uint8Array.from(good);
    bad[4] = (bad[4] as number) ^ 0x01;
    expect(scanResponse(bad, req)).toEqual({ kind: 'incomplete', why: 'crc' });
  });
  it('finds the frame behind noise bytes, including noise that starts like a frame', () => {
    const noisy = Uint8Array.of(0xff, 0x01, 0x03, 0x04, 0x00, ...good);
    expect(scanResponse(noisy, req)).toMatchObject({ kind: 'ok', registers: [0x1234, 0xfedc] });
  });
  it('ignores another unit and a wrong byte count', () => {
    expect(scanResponse(encodeReadResponse(2, 3, [1, 2]), req).kind).toBe('incomplete');
    expect(scanResponse(encodeReadResponse(1, 3, [1]), req).kind).toBe('incomplete');
  });
  it('decodes exception responses (fc | 0x80) to the standard names', () => {
    expect(scanResponse(encodeException(1, 3, 2), req)).toEqual({ kind: 'exception', code: 2, end: 5 });
    expect(exceptionName(2)).toBe('ILLEGAL_DATA_ADDRESS');
    expect(exceptionName(0x0b)).toBe('GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND');
    expect(exceptionName(0x42)).toBe('UNKNOWN_EXCEPTION_0x42');
  });
});

describe('scanRequest (slave side)', () => {
  it('finds a request after garbage and tells how much can be dropped', () => {
    const r = encodeReadRequest({ unit: 7, fc: 4, address: 10, count: 3 });
    const s = scanRequest(Uint8Array.of(0, 1, 2, ...r), (u) => u === 7);
    expect(s).toEqual({ kind: 'ok', request: { unit: 7, fc: 4, address: 10, count: 3 }, end: 11 });
    expect(scanRequest(Uint8Array.of(0, 1, 2, 7, 4), (u) => u === 7)).toEqual({ kind: 'none', drop: 3 });
  });
});
