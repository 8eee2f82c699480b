import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { checkJsonBounds, type JsonBounds } from './json-bounds.ts';
import { BrokerClock } from './schemas/clock.ts';
import { Command, CommandAck } from './schemas/command.ts';
import { GatewayEvent } from './schemas/events.ts';
import { SiteLevel } from './schemas/level.ts';
import { Telemetry } from './schemas/messages.ts';
import { SiteNotice } from './schemas/notice.ts';
import { missingKindFields, Reading } from './schemas/reading.ts';
import { Status } from './schemas/status.ts';
import type { Channel, ChannelPayload } from './topics.ts';

export type Decoded<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const MAX_ERRORS = 10;
const MAX_ERROR_CHARS = 200;

/** A compiled validator that lists errors as `path: message` (at most ten, each bounded). */
export function validator<S extends TSchema>(schema: S): (value: unknown) => Decoded<Static<S>> {
  const compiled = TypeCompiler.Compile(schema);
  return (value) => {
    if (compiled.Check(value)) return { ok: true, value: value as Static<S> };
    const errors: string[] = [];
    for (const e of compiled.Errors(value)) {
      // Paths carry the sender's keys: bound them so an error list stays small in logs.
      errors.push(`${e.path || '/'}: ${e.message}`.slice(0, MAX_ERROR_CHARS));
      if (errors.length >= MAX_ERRORS) break;
    }
    return { ok: false, errors };
  };
}

const checkReading = validator(Reading);
const checkTelemetry = validator(Telemetry);

/** A reading is valid when it matches the schema and carries its kind's value fields. */
export function validateReading(value: unknown): Decoded<Reading> {
  const r = checkReading(value);
  if (!r.ok) return r;
  const missing = missingKindFields(r.value);
  if (missing.length > 0)
    return { ok: false, errors: missing.map((f) => `/values/${f}: required for ${r.value.kind}`) };
  return r;
}

export function validateTelemetry(value: unknown): Decoded<Telemetry> {
  const t = checkTelemetry(value);
  if (!t.ok) return t;
  const errors: string[] = [];
  t.value.readings.forEach((r, i) => {
    for (const f of missingKindFields(r)) errors.push(`/readings/${i}/values/${f}: required for ${r.kind}`);
  });
  return errors.length > 0 ? { ok: false, errors: errors.slice(0, MAX_ERRORS) } : t;
}

type Validators = { [C in Channel]: (v: unknown) => Decoded<ChannelPayload[C]> };
const channelValidators: Validators = {
  telemetry: validateTelemetry,
  status: validator(Status),
  event: validator(GatewayEvent),
  cmd: validator(Command),
  'cmd/ack': validator(CommandAck),
  level: validator(SiteLevel),
  notice: validator(SiteNotice),
  clock: validator(BrokerClock),
};

/**
 * The largest payload each channel may carry, checked on the raw bytes before parsing. Every valid
 * message fits well inside (a full telemetry batch of 1,000 readings is about 150 KB); nesting is
 * never deeper than 7 (a command ack carrying a status), so 8 leaves a margin.
 */
export const PAYLOAD_BOUNDS: Readonly<Record<Channel, JsonBounds>> = {
  telemetry: { maxBytes: 256 * 1024, maxDepth: 8 },
  status: { maxBytes: 128 * 1024, maxDepth: 8 },
  event: { maxBytes: 64 * 1024, maxDepth: 8 },
  cmd: { maxBytes: 8 * 1024, maxDepth: 8 },
  'cmd/ack': { maxBytes: 160 * 1024, maxDepth: 8 },
  level: { maxBytes: 64 * 1024, maxDepth: 8 },
  notice: { maxBytes: 8 * 1024, maxDepth: 8 },
  clock: { maxBytes: 256, maxDepth: 8 },
};

/** Why a payload was refused, for counters: the first word of the first error. */
export type DecodeFailure = 'size' | 'depth' | 'not_json' | 'schema';

export function failureOf(errors: readonly string[]): DecodeFailure {
  const first = errors[0] ?? '';
  if (first.startsWith('size:')) return 'size';
  if (first.startsWith('depth:')) return 'depth';
  if (first.startsWith('not JSON')) return 'not_json';
  return 'schema';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/**
 * Parses and validates an MQTT payload for a channel, typed by the channel. Never throws.
 * Size and depth are checked on the bytes first, so a hostile payload is refused before parsing.
 * Error lists start with `size:`, `depth:`, `not JSON:` or a schema path (see `failureOf`).
 */
export function decodePayload<C extends Channel>(
  channel: C,
  payload: Uint8Array | string,
): Decoded<ChannelPayload[C]> {
  let value: unknown;
  try {
    const bytes = typeof payload === 'string' ? encoder.encode(payload) : payload;
    const bounds = checkJsonBounds(bytes, PAYLOAD_BOUNDS[channel]);
    if (!bounds.ok) return { ok: false, errors: [`${bounds.reason}: ${bounds.message}`] };
    value = JSON.parse(utf8.decode(bytes));
  } catch (err) {
    return { ok: false, errors: [`not JSON: ${(err as Error).message}`.slice(0, MAX_ERROR_CHARS)] };
  }
  return (channelValidators[channel] as (v: unknown) => Decoded<ChannelPayload[C]>)(value);
}

/** Serialises a contract message; the type of `value` is checked against the channel's payload. */
export function encodePayload<C extends Channel>(_channel: C, value: ChannelPayload[C]): string {
  return JSON.stringify(value);
}
