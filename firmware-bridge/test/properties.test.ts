import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeLine, parseLine, type Sentence } from '../src/line/codec.ts';
import { encodeReadResponse, type ReadRequest, scanResponse } from '../src/modbus/frame.ts';
import { decodeFields, encodeField, planReads, type RegisterField } from '../src/modbus/register-map.ts';
import { formatValue, parseData } from '../src/sdi12/codec.ts';
import { withSdi12Crc } from '../src/sdi12/crc.ts';

/** Encode/decode round trips, with fast-check shrinking any failure to a minimal case. */
const id = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);
const fieldName = fc.stringMatching(/^[a-z][a-z0-9_]{0,10}$/);
const finite = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true });

describe('round trips', () => {
  it('line protocol: parseLine(encodeLine(s)) gives s back (values at 9 decimals)', () => {
    fc.assert(
      fc.property(
        id,
        id,
        fc.integer({ min: 0, max: 65535 }),
        fc.constantFrom('tilt', 'rain', 'displacement', 'pore_pressure', 'soil_moisture' as const),
        fc.dictionary(fieldName, finite, { minKeys: 1, maxKeys: 6 }),
        (node, sensor, seq, kind, raw) => {
          // -0 goes on the wire as 0, and the parser gives 0: compare without it.
          const values = Object.fromEntries(
            Object.entries(raw).map(([k, v]) => [k, Math.round(v * 1e9) / 1e9 + 0]),
          );
          const s: Sentence = { type: 'R', node, seq, sensor, kind, values };
          const line = encodeLine(s);
          if (line.length - 2 > 200) return;
          const p = parseLine(line.slice(0, -2));
          expect(p).toEqual({ ok: true, sentence: s });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('Modbus: a response with any registers is decoded to the same registers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 247 }),
        fc.constantFrom(3, 4 as const),
        fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: 1, maxLength: 125 }),
        (unit, fcode, regs) => {
          const req: ReadRequest = { unit, fc: fcode, address: 0, count: regs.length };
          expect(scanResponse(encodeReadResponse(unit, fcode, regs), req)).toMatchObject({
            kind: 'ok',
            registers: regs,
          });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('register maps: encodeField then decodeFields is the identity on representable values', () => {
    const types = ['int16', 'uint16', 'int32', 'uint32'] as const;
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.constantFrom('high-first', 'low-first' as const),
        fc.integer({ min: -32768, max: 65535 }),
        (type, wordOrder, raw) => {
          const lo = type === 'int16' ? -32768 : type.startsWith('u') ? 0 : -2147483648;
          const hi = type === 'int16' ? 32767 : type === 'uint16' ? 65535 : 2147483647;
          const v = Math.min(hi, Math.max(lo, raw * (type.endsWith('32') ? 65537 : 1)));
          const f: RegisterField = { name: 'v', address: 0, type, wordOrder, scale: 0.01 };
          const map = { model: 'm', kind: 'tilt' as const, function: 3 as const, fields: [f] };
          expect(decodeFields(map, planReads(map), [encodeField(f, v * 0.01)]).v).toBe(
            Number((v / 100).toPrecision(15)),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('SDI-12: values formatted per §4.4.7 parse back, with and without CRC', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -999999, max: 999999 }), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (cents, crc) => {
          const values = cents.map((c) => c / 100);
          const body = `7${values.map((v) => formatValue(v, 2)).join('')}`;
          const p = parseData(crc ? withSdi12Crc(body) : body, '7', crc);
          expect(p).toEqual({ ok: true, value: values });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
