import { describe, expect, it } from 'vitest';
import { decodePayload, validateReading, validateTelemetry } from '../src/validate.ts';

const tilt = { sensor: 'tilt-1', kind: 'tilt', ts: 1763856000000, values: { x: 0.1, y: -0.2 } };

describe('payload validation', () => {
  it('accepts a contract telemetry message', () => {
    const r = validateTelemetry({
      seq: 3,
      readings: [tilt, { ...tilt, sensor: 'rain-1', kind: 'rain', values: { mm: 0.5 } }],
    });
    expect(r.ok).toBe(true);
  });

  it('lists the path of each error', () => {
    const r = validateTelemetry({ seq: -1, readings: [{ ...tilt, kind: 'wind' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.errors.some((e) => e.startsWith('/seq'))).toBe(true);
      expect(r.errors.some((e) => e.startsWith('/readings/0/kind'))).toBe(true);
    }
  });

  it("requires the kind's value fields", () => {
    const r = validateReading({ ...tilt, values: { x: 1 } });
    expect(r).toEqual({ ok: false, errors: ['/values/y: required for tilt'] });
    const t = validateTelemetry({ seq: 1, readings: [tilt, { ...tilt, kind: 'rain' }] });
    expect(t.ok).toBe(false);
    if (!t.ok) expect(t.errors).toEqual(['/readings/1/values/mm: required for rain']);
  });

  it('rejects unknown top-level properties and bad quality flags', () => {
    expect(validateReading({ ...tilt, extra: 1 }).ok).toBe(false);
    expect(validateReading({ ...tilt, q: 'great' }).ok).toBe(false);
    expect(validateReading({ ...tilt, q: 'suspect' }).ok).toBe(true);
  });

  it('never throws on garbage', () => {
    const bad = decodePayload('telemetry', Buffer.from([0xff, 0xfe, 0x00]));
    expect(bad.ok).toBe(false);
    expect(decodePayload('telemetry', 'not json').ok).toBe(false);
    expect(decodePayload('telemetry', 'null').ok).toBe(false);
    expect(decodePayload('level', '{"level":5,"ts":1,"reasons":[]}').ok).toBe(false);
    expect(decodePayload('level', '{"level":2,"ts":1,"reasons":[{"rule":"rain-3h"}]}').ok).toBe(true);
  });
});

describe('time bounds', () => {
  it('refuses a timestamp InfluxDB could not store (after 2262-04-11)', () => {
    expect(validateReading({ ...tilt, ts: 9_223_372_036_854 }).ok).toBe(true);
    expect(validateReading({ ...tilt, ts: 9_223_372_036_855 }).ok).toBe(false);
  });
});
