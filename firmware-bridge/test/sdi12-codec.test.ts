import { describe, expect, it } from 'vitest';
import {
  commands,
  formatValue,
  isServiceRequest,
  parseAddress,
  parseData,
  parseMeasure,
} from '../src/sdi12/codec.ts';
import { encodeSdi12Crc, sdi12Crc, withSdi12Crc } from '../src/sdi12/crc.ts';

describe('SDI-12 CRC (v1.4 §4.4.12)', () => {
  it('matches the standard example: 0D0! -> 0+3.14OqZ', () => {
    expect(sdi12Crc('0+3.14')).toBe(0xfc5a);
    expect(encodeSdi12Crc(0xfc5a)).toBe('OqZ');
    expect(withSdi12Crc('0+3.14')).toBe('0+3.14OqZ');
  });
});

describe('SDI-12 responses', () => {
  it('formats commands', () => {
    expect(commands.addressQuery()).toBe('?!');
    expect(commands.measure('3', false)).toBe('3M!');
    expect(commands.measure('3', true)).toBe('3MC!');
    expect(commands.data('3', 1)).toBe('3D1!');
  });
  it('parses the address and the measurement reply atttn', () => {
    expect(parseAddress('\u00005')).toEqual({ ok: true, value: '5' });
    expect(parseMeasure('30012', '3')).toEqual({ ok: true, value: { seconds: 1, count: 2 } });
    expect(parseMeasure('40012', '3').ok).toBe(false);
    expect(parseMeasure('3001', '3').ok).toBe(false);
    expect(isServiceRequest('3', '3')).toBe(true);
  });
  it('parses data values strictly (§4.4.7: sign, at most 7 digits)', () => {
    expect(parseData('0+3.14-2+1234567', '0', false)).toEqual({ ok: true, value: [3.14, -2, 1234567] });
    expect(parseData('0', '0', false)).toEqual({ ok: true, value: [] });
    expect(parseData('0+.5', '0', false)).toEqual({ ok: true, value: [0.5] });
    for (const bad of ['0+12345678', '03.14', '0+1.2.3', '0+', '0+.', '1+3.14', '0+3,14', '0+1e5']) {
      expect(parseData(bad, '0', false).ok, bad).toBe(false);
    }
  });
  it('checks the CRC of aMC! data', () => {
    expect(parseData('0+3.14OqZ', '0', true)).toEqual({ ok: true, value: [3.14] });
    expect(parseData('0+3.15OqZ', '0', true)).toMatchObject({ ok: false, reason: 'crc' });
    expect(parseData('0', '0', true)).toMatchObject({ ok: false, reason: 'crc' });
  });
  it('formats values within the 7-digit limit', () => {
    expect(formatValue(12.5, 3)).toBe('+12.500');
    expect(formatValue(-0.25, 2)).toBe('-0.25');
    expect(formatValue(123456.789, 3)).toBe('+123456.7');
  });
});
