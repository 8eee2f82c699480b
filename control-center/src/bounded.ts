import type { GatewayEvent, Reading, Status } from '@slopeguard/core';

/**
 * What the control center keeps of a gateway's message: only declared fields, each of a bounded
 * type and size. The live view, the REST API and socket.io serialise what is kept here, so nothing
 * a gateway sends (a 100,000-deep field, a huge string, thousands of keys) can make
 * `JSON.stringify` or socket.io's `hasBinary` throw or stall: both recurse through every value.
 */

/** Refused before JSON.parse: larger than any message the contract allows (1,000 readings). */
export const MAX_PAYLOAD_BYTES: Readonly<Record<string, number>> = {
  telemetry: 512 * 1024,
  status: 64 * 1024,
  event: 16 * 1024,
  'cmd/ack': 16 * 1024,
  level: 64 * 1024,
};
/** Deepest nesting of arrays/objects any contract message needs (status: sensors -> sensor -> field). */
export const MAX_JSON_DEPTH = 8;

const MAX_STRING = 200;
const MAX_KEYS = 64;

/**
 * Nesting depth of a JSON payload, found by scanning its bytes for brackets outside strings (no
 * parse, no recursion; in UTF-8 these ASCII bytes never occur inside a multi-byte character).
 * Stops as soon as `limit` is exceeded.
 */
export function jsonDepthExceeds(bytes: Uint8Array, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] as number;
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? (v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…` : v) : undefined;
const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Scalars only (finite numbers, short strings, booleans, null), at most MAX_KEYS of them. */
function flat(v: unknown): Record<string, number | string | boolean | null> | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const out: Record<string, number | string | boolean | null> = {};
  let n = 0;
  for (const [k, x] of Object.entries(o)) {
    if (n >= MAX_KEYS || k.length > 64) break;
    const s = typeof x === 'boolean' || x === null ? x : (num(x) ?? str(x));
    if (s !== undefined) {
      out[k] = s;
      n++;
    }
  }
  return out;
}

/** The gateway health the control center shows (docs/control-center.md lists the fields). */
export interface GatewayHealth {
  version?: string;
  uptimeS?: number;
  queue?: Record<string, number | string | boolean | null>;
  level?: Record<string, number | string | boolean | null>;
  readings?: Record<string, number | string | boolean | null>;
  /** Per sensor, the gateway engine's health status word (ok, stale, stuck, ...). */
  sensorHealth?: Record<string, string>;
  cpuTempC?: number;
  supplyV?: number;
}

export function boundedStatus(s: Status): { state: Status['state']; ts: number; health: GatewayHealth } {
  const h: GatewayHealth = {};
  const raw = s as Record<string, unknown>;
  const version = str(raw.version);
  if (version !== undefined) h.version = version;
  const uptime = num(raw.uptimeS);
  if (uptime !== undefined) h.uptimeS = uptime;
  for (const k of ['queue', 'level', 'readings'] as const) {
    const f = flat(raw[k]);
    if (f) h[k] = f;
  }
  const sh = obj(raw.sensorHealth);
  if (sh) {
    const out: Record<string, string> = {};
    let n = 0;
    for (const [id, v] of Object.entries(sh)) {
      if (n++ >= MAX_KEYS) break;
      const word = str(obj(v)?.status) ?? str(v);
      if (word !== undefined && id.length <= 64) out[id] = word;
    }
    h.sensorHealth = out;
  }
  const temp = num(raw.cpuTempC);
  if (temp !== undefined) h.cpuTempC = temp;
  const supply = num(raw.supplyV);
  if (supply !== undefined) h.supplyV = supply;
  return { state: s.state, ts: s.ts, health: h };
}

export type BoundedEvent = { type: string; ts: number } & Record<string, number | string | boolean | null>;

/** An event keeps its type, time and scalar fields; nested values are dropped. */
export function boundedEvent(e: GatewayEvent): BoundedEvent {
  const f = flat(e) ?? {};
  return { ...f, type: str(e.type) ?? 'unknown', ts: e.ts };
}

const VALUE_KEY = /^[a-z][a-z0-9_]{0,31}$/;

/** A reading keeps its declared fields and only finite numeric values under valid keys. */
export function boundedReading(r: Reading): Reading {
  const values: Record<string, number> = {};
  let n = 0;
  for (const [k, v] of Object.entries(r.values)) {
    if (n >= 16) break;
    if (VALUE_KEY.test(k) && typeof v === 'number' && Number.isFinite(v)) {
      values[k] = v;
      n++;
    }
  }
  const out: Reading = { sensor: r.sensor, kind: r.kind, ts: r.ts, values };
  if (r.q !== undefined) out.q = r.q;
  return out;
}
