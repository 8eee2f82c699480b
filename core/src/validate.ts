import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Command, CommandAck, GatewayEvent, SiteLevel, Status, Telemetry } from './schemas/messages.ts';
import { missingKindFields, Reading } from './schemas/reading.ts';
import type { Channel } from './topics.ts';

export type Decoded<T> = { ok: true; value: T } | { ok: false; errors: string[] };

const MAX_ERRORS = 10;

/** A compiled validator that lists errors as `path: message` (at most ten). */
export function validator<S extends TSchema>(schema: S): (value: unknown) => Decoded<Static<S>> {
  const compiled = TypeCompiler.Compile(schema);
  return (value) => {
    if (compiled.Check(value)) return { ok: true, value: value as Static<S> };
    const errors: string[] = [];
    for (const e of compiled.Errors(value)) {
      errors.push(`${e.path || '/'}: ${e.message}`);
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

const channelValidators: Record<Channel, (v: unknown) => Decoded<unknown>> = {
  telemetry: validateTelemetry,
  status: validator(Status),
  event: validator(GatewayEvent),
  cmd: validator(Command),
  'cmd/ack': validator(CommandAck),
  level: validator(SiteLevel),
};

/** Parses and validates an MQTT payload for a channel. Never throws. */
export function decodePayload(channel: Channel, payload: Uint8Array | string): Decoded<unknown> {
  let value: unknown;
  try {
    const text =
      typeof payload === 'string' ? payload : new TextDecoder('utf-8', { fatal: true }).decode(payload);
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, errors: [`not JSON: ${(err as Error).message}`] };
  }
  return channelValidators[channel](value);
}

export function encodePayload(value: unknown): string {
  return JSON.stringify(value);
}
