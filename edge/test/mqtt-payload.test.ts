import { parseConfig } from '@slopeguard/edge/config/load.ts';
import { type MqttSensor, topicFilterError, topicMatches } from '@slopeguard/edge/drivers/mqtt/config.ts';
import { extract, parseBody } from '@slopeguard/edge/drivers/mqtt/payload.ts';
import { describe, expect, it } from 'vitest';

const mapped: MqttSensor = {
  id: 'ext-1',
  kind: 'displacement',
  topic: 'a/+/up',
  fields: { mm: { path: 'object.d', scale: 0.1, offset: -1 }, temp_c: 'object.list.1' },
  ts: { path: 'time', unit: 'iso' },
};
const native: MqttSensor = { id: 'piezo-3', kind: 'pore_pressure' };
const json = (text: string) => {
  const r = parseBody(Buffer.from(text), 4096);
  if (!r.ok) throw new Error(r.message);
  return r.json;
};

describe('mqtt driver: topics and payloads', () => {
  it('matches topic filters as MQTT 3.1.1 §4.7 says', () => {
    expect(topicMatches('a/+/up', 'a/n1/up')).toBe(true);
    expect(topicMatches('a/+/up', 'a/n1/down')).toBe(false);
    expect(topicMatches('a/+/up', 'a/n1/up/x')).toBe(false);
    expect(topicMatches('a/#', 'a')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/b', 'a/b')).toBe(true);
    expect(topicMatches('a/b', 'a/b/')).toBe(false);
    expect(topicFilterError('a/#/b')).toMatch(/'#' must be a whole level and the last one/);
    expect(topicFilterError('a/x+/b')).toMatch(/'\+' must be a whole level/);
    expect(topicFilterError('a/+/#')).toBeUndefined();
  });

  it('maps fields with scale and offset, array indices, and an ISO time with its offset', () => {
    const r = extract(
      mapped,
      json('{"time":"2026-01-01T09:00:00+09:00","object":{"d":123,"list":[0,18.5]}}'),
    );
    expect(r).toEqual({ ok: true, values: { mm: 11.3, temp_c: 18.5 }, ts: 1_767_225_600_000 });
  });

  it('refuses, never coerces: strings, booleans, missing fields, prototype paths, zone-less times', () => {
    const bad = (text: string, sensor = mapped) => {
      const r = extract(sensor, json(text));
      return r.ok ? 'accepted' : r.message;
    };
    const time = '"time":"2026-01-01T00:00:00Z"';
    expect(bad(`{${time},"object":{"d":"123","list":[0,1]}}`)).toBe('object.d is not a number (string)');
    expect(bad(`{${time},"object":{"d":true,"list":[0,1]}}`)).toBe('object.d is not a number (boolean)');
    expect(bad(`{${time},"object":{"list":[0,1]}}`)).toBe('object.d is missing');
    expect(bad('{"time":"2026-01-01T00:00:00","object":{"d":1,"list":[0,1]}}')).toBe(
      'time is not a time in iso',
    );
    expect(
      bad('{"a":1}', { id: 'x', kind: 'rain', topic: 't', fields: { mm: '__proto__.constructor' } }),
    ).toBe('__proto__.constructor is missing');
    expect(parseBody(Buffer.from('{"a":1}'), 4)).toEqual({
      ok: false,
      message: 'payload of 7 bytes (max 4)',
    });
    expect(parseBody(Buffer.from('{"a":'), 4096)).toEqual({ ok: false, message: 'payload is not JSON' });
  });

  it('takes the native format, closed: ts optional, values numbers', () => {
    expect(extract(native, json('{"ts":1767225600000,"values":{"kpa":12.5,"supply_v":3.6}}'))).toEqual({
      ok: true,
      values: { kpa: 12.5, supply_v: 3.6 },
      ts: 1_767_225_600_000,
    });
    expect(extract(native, json('{"values":{"kpa":1}}'))).toEqual({ ok: true, values: { kpa: 1 } });
    for (const text of [
      '{"values":{"kpa":1},"x":1}',
      '{"values":{}}',
      '{"values":{"kpa":"1"}}',
      '[1]',
      '{"ts":-1,"values":{"kpa":1}}',
    ])
      expect(extract(native, json(text)).ok, text).toBe(false);
  });

  it('--check refuses bad topic filters and a ts mapping without fields', () => {
    const r = parseConfig(`
site: s-1
gateway: gw-1
uplink: { url: "mqtt://127.0.0.1:1883" }
drivers:
  - driver: mqtt
    id: nodes
    sensors:
      - { id: a-1, kind: tilt, topic: "x/#/y", fields: { x: ax, y: ay } }
      - { id: a-2, kind: tilt, ts: { path: t } }
`);
    expect(r.ok ? [] : r.errors).toEqual([
      `/drivers/0/sensors/0/topic: '#' must be a whole level and the last one: "x/#/y"`,
      '/drivers/0/sensors/1/ts: only with fields (the native format carries its own ts)',
    ]);
  });
});
