import { describe, expect, it } from 'vitest';
import { BridgeError } from '../src/errors.ts';
import {
  decodeFields,
  encodeField,
  loadRegisterMap,
  parseRegisterMap,
  planReads,
  type RegisterField,
} from '../src/modbus/register-map.ts';

describe('register maps', () => {
  it('loads the shipped inclinometer and rain counter maps', async () => {
    const incl = await loadRegisterMap('inclinometer-generic');
    expect(incl.kind).toBe('tilt');
    expect(planReads(incl)).toEqual([{ fc: 4, address: 0, count: 6 }]);
    const rain = await loadRegisterMap('rain-counter-generic');
    expect(rain.counter).toEqual({ field: 'count', mmPerCount: 0.2, wrap: 4294967296 });
    expect(planReads(rain)).toEqual([{ fc: 3, address: 0, count: 3 }]);
  });

  it('refuses model names that could be paths, and unknown models', async () => {
    await expect(loadRegisterMap('../etc/passwd')).rejects.toBeInstanceOf(BridgeError);
    await expect(loadRegisterMap('no-such-model')).rejects.toMatchObject({ code: 'SG_BRIDGE_MAP' });
  });

  it('decodes signedness, word order and 32-bit floats', () => {
    const map = parseRegisterMap(
      JSON.stringify({
        model: 't',
        kind: 'tilt',
        function: 3,
        fields: [
          { name: 'a', address: 0, type: 'int16', scale: 0.1 },
          { name: 'b', address: 1, type: 'uint16' },
          { name: 'c', address: 2, type: 'int32', wordOrder: 'high-first' },
          { name: 'd', address: 4, type: 'int32', wordOrder: 'low-first' },
          { name: 'e', address: 6, type: 'float32' },
          { name: 'f', address: 8, type: 'uint32', wordOrder: 'low-first', offset: -1 },
        ],
      }),
      'inline.json',
    );
    const blocks = planReads(map);
    // a=-12.3 ; b=65535 ; c=-2 (FFFF FFFE) ; d=0x00010002 low word first ; e=1.5f ; f=65536 low first
    const regs = [[0xff85, 0xffff, 0xffff, 0xfffe, 0x0002, 0x0001, 0x3fc0, 0x0000, 0x0000, 0x0001]];
    expect(decodeFields(map, blocks, regs)).toEqual({
      a: -12.3,
      b: 65535,
      c: -2,
      d: 65538,
      e: 1.5,
      f: 65535,
    });
  });

  it('encodeField is the inverse of decoding (used by virtual devices)', () => {
    const f: RegisterField = { name: 'x', address: 0, type: 'int32', wordOrder: 'low-first', scale: 0.001 };
    const map = { model: 'm', kind: 'tilt' as const, function: 4 as const, fields: [f] };
    for (const v of [-29.999, -0.001, 0, 12.345]) {
      expect(decodeFields(map, planReads(map), [encodeField(f, v)]).x).toBe(v);
    }
  });

  it('reports every schema error of a bad map with its file name', () => {
    expect(() => parseRegisterMap('model: x\nkind: tilt\nfunction: 5\nfields: []\n', 'bad.yaml')).toThrow(
      /bad\.yaml: .*function/,
    );
    expect(() =>
      parseRegisterMap(
        'model: x\nkind: rain\nfunction: 3\nfields: [{name: n, address: 0, type: uint16}]\ncounter: {field: c, mmPerCount: 0.2}\n',
        'c.yaml',
      ),
    ).toThrow(/counter field c/);
    expect(() =>
      parseRegisterMap(
        'model: x\nkind: tilt\nfunction: 3\nfields: [{name: a, address: 0, type: uint16}, {name: b, address: 200, type: uint16}]\n',
        'w.yaml',
      ),
    ).toThrow(/spans 201 registers/);
  });
});
