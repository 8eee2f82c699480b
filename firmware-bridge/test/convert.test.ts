import { describe, expect, it } from 'vitest';
import { rainCounter, SensorConverter } from '../src/convert.ts';

describe('SensorConverter', () => {
  it('applies (raw - offset) * scale - baseline per field', () => {
    const c = new SensorConverter({
      sensor: 't1',
      kind: 'tilt',
      calibration: { offset: { x: 0.1 }, scale: { x: 2 }, baseline: { x: 0.5, y: -1 } },
    });
    expect(c.convert({ x: 1.1, y: -0.75 }, 5)).toEqual({
      ok: true,
      reading: { sensor: 't1', kind: 'tilt', ts: 5, values: { x: 1.5, y: 0.25 } },
    });
  });
  it('marks values outside the device range suspect and keeps health-only fields out', () => {
    const c = new SensorConverter({ sensor: 'p1', kind: 'pore_pressure', range: { kpa: [0, 200] } });
    expect(c.convert({ kpa: 250, supply_v: 12 }, 1)).toEqual({
      ok: true,
      reading: { sensor: 'p1', kind: 'pore_pressure', ts: 1, values: { kpa: 250 }, q: 'suspect' },
    });
  });
  it('rejects non-finite values and missing kind fields', () => {
    const c = new SensorConverter({ sensor: 't1', kind: 'tilt' });
    expect(c.convert({ x: Number.NaN, y: 0 }, 1)).toMatchObject({ ok: false, reason: 'bad_value' });
    expect(c.convert({ x: 1 }, 1)).toMatchObject({ ok: false, reason: 'bad_value', message: 'tilt needs y' });
  });

  describe('tipping-bucket counter to mm since the previous reading', () => {
    const make = (wrap?: number) =>
      new SensorConverter({ sensor: 'r1', kind: 'rain', counter: { field: 'count', mmPerCount: 0.2, wrap } });
    const mm = (c: SensorConverter, count: number) => {
      const r = c.convert({ count }, 0);
      return r.ok ? [r.reading.values.mm, r.reading.q ?? 'ok'] : r.reason;
    };
    it('first sample is a baseline, then increments', () => {
      const c = make(65536);
      expect(mm(c, 100)).toBe('baseline');
      expect(mm(c, 103)).toEqual([0.6, 'ok']);
      expect(mm(c, 103)).toEqual([0, 'ok']);
    });
    it('handles the counter wrapping at its modulus', () => {
      const c = make(65536);
      mm(c, 65530);
      expect(mm(c, 4)).toEqual([2, 'ok']);
    });
    it('treats a drop that is not a wrap as a reset (power cycle): counts since reset, suspect', () => {
      const c = make(65536);
      mm(c, 5000);
      expect(mm(c, 3)).toEqual([0.6, 'suspect']);
      const noWrap = make();
      mm(noWrap, 10);
      expect(mm(noWrap, 2)).toEqual([0.4, 'suspect']);
    });
  });

  it('rainCounter picks the counter from the field names', () => {
    expect(rainCounter('rain', ['mm'], undefined)).toBeUndefined();
    expect(rainCounter('rain', ['count'], { mmPerCount: 0.5, wrap: 256 })).toEqual({
      field: 'count',
      mmPerCount: 0.5,
      wrap: 256,
    });
    expect(rainCounter('rain', ['total_mm'], undefined)).toEqual({
      field: 'total_mm',
      mmPerCount: 1,
      wrap: undefined,
    });
    expect(rainCounter('tilt', ['count'], undefined)).toBeUndefined();
  });
});
