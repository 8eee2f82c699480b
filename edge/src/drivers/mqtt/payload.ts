import { Type } from '@sinclair/typebox';
import { EpochMs, validator } from '@slopeguard/core';
import { round9 } from '@slopeguard/firmware-bridge/round.ts';
import type { MqttFieldSource, MqttSensor } from './config.ts';

/**
 * From one node message to a sensor's device values and time. Pure: the driver owns the counting
 * and logging. Anything unexpected is refused with a reason, never coerced: a string "12.5", a
 * boolean, a missing field or an unparseable time make the message bad for that sensor.
 */
export type Extracted =
  | { ok: true; values: Record<string, number>; ts?: number }
  | { ok: false; message: string };

/**
 * The native format for new node firmware: `{"ts": 1767225600000, "values": {"mm": 12.34}}` on
 * `{topicPrefix}/{sensor id}`. `ts` (epoch ms) is optional (the gateway stamps arrival); `values` are
 * the kind's fields in contract units, plus `supply_v` (to health) and any extra numeric fields.
 */
export const NativePayload = Type.Object(
  {
    ts: Type.Optional(EpochMs),
    values: Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), Type.Number(), {
      minProperties: 1,
      maxProperties: 16,
    }),
  },
  { additionalProperties: false },
);
const checkNative = validator(NativePayload);

/** Parses a message body as JSON within a size bound. */
export function parseBody(
  body: Uint8Array,
  maxBytes: number,
): { ok: true; json: unknown } | { ok: false; message: string } {
  if (body.length > maxBytes)
    return { ok: false, message: `payload of ${body.length} bytes (max ${maxBytes})` };
  try {
    return { ok: true, json: JSON.parse(Buffer.from(body).toString('utf8')) };
  } catch {
    return { ok: false, message: 'payload is not JSON' };
  }
}

export function extract(sensor: MqttSensor, json: unknown): Extracted {
  if (!sensor.fields) {
    const r = checkNative(json);
    if (!r.ok) return { ok: false, message: `not the native format: ${r.errors.slice(0, 3).join('; ')}` };
    for (const [k, v] of Object.entries(r.value.values))
      if (!Number.isFinite(v)) return { ok: false, message: `values.${k} is not a finite number` };
    return {
      ok: true,
      values: { ...r.value.values },
      ...(r.value.ts !== undefined ? { ts: r.value.ts } : {}),
    };
  }
  const values: Record<string, number> = {};
  for (const [name, src] of Object.entries(sensor.fields)) {
    const { path, scale, offset } = fieldSource(src);
    const raw = at(json, path);
    if (typeof raw !== 'number' || !Number.isFinite(raw))
      return {
        ok: false,
        message: `${path} is ${raw === undefined ? 'missing' : `not a number (${typeof raw})`}`,
      };
    values[name] = round9(raw * scale + offset);
  }
  if (!sensor.ts) return { ok: true, values };
  const ts = timeOf(at(json, sensor.ts.path), sensor.ts.unit ?? 'ms');
  if (ts === undefined)
    return { ok: false, message: `${sensor.ts.path} is not a time in ${sensor.ts.unit ?? 'ms'}` };
  return { ok: true, values, ts };
}

function fieldSource(src: MqttFieldSource): { path: string; scale: number; offset: number } {
  if (typeof src === 'string') return { path: src, scale: 1, offset: 0 };
  return { path: src.path, scale: src.scale ?? 1, offset: src.offset ?? 0 };
}

/** The value at a dot path; own properties only, so `__proto__` or `constructor` find nothing. */
function at(json: unknown, path: string): unknown {
  let v: unknown = json;
  for (const key of path.split('.')) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

const MAX_TS = 9_223_372_036_854;

function timeOf(v: unknown, unit: 'ms' | 's' | 'iso'): number | undefined {
  let ms: number;
  if (unit === 'iso') {
    // An offset is required: a time without one would be read in the gateway's zone, silently.
    if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(v))
      return undefined;
    ms = Date.parse(v);
  } else {
    if (typeof v !== 'number') return undefined;
    ms = unit === 's' ? v * 1000 : v;
  }
  ms = Math.round(ms);
  return Number.isFinite(ms) && ms >= 0 && ms <= MAX_TS ? ms : undefined;
}
