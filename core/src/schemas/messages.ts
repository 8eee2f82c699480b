import { type Static, Type } from '@sinclair/typebox';
import { EpochMs, Id, Reading } from './reading.ts';

/** `slopeguard/v1/{site}/{gateway}/telemetry` */
export const Telemetry = Type.Object(
  {
    seq: Type.Integer({ minimum: 0 }),
    readings: Type.Array(Reading, { minItems: 1, maxItems: 1000 }),
  },
  { additionalProperties: false },
);
export type Telemetry = Static<typeof Telemetry>;

/** `slopeguard/v1/{site}/{gateway}/status`, retained; the MQTT will publishes `offline`. */
export const Status = Type.Object(
  {
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    ts: EpochMs,
  },
  { additionalProperties: true, description: 'further health fields are free-form' },
);
export type Status = Static<typeof Status>;

/** `slopeguard/v1/{site}/{gateway}/event`: local level changes and sensor faults. */
export const GatewayEvent = Type.Object(
  {
    type: Type.String({ minLength: 1, maxLength: 64 }),
    ts: EpochMs,
  },
  { additionalProperties: true },
);
export type GatewayEvent = Static<typeof GatewayEvent>;

/** `slopeguard/v1/{site}/{gateway}/cmd` */
export const Command = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    name: Type.String({ minLength: 1, maxLength: 64 }),
    args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);
export type Command = Static<typeof Command>;

/** `slopeguard/v1/{site}/{gateway}/cmd/ack` */
export const CommandAck = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    ok: Type.Boolean(),
    ts: EpochMs,
    error: Type.Optional(Type.String()),
    result: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);
export type CommandAck = Static<typeof CommandAck>;

/** One reason behind a level: which rule, on which sensor, what value against which threshold. */
export const LevelReason = Type.Object(
  {
    rule: Type.String(),
    level: Type.Optional(Type.Integer({ minimum: 0, maximum: 4 })),
    sensor: Type.Optional(Id),
    value: Type.Optional(Type.Number()),
    threshold: Type.Optional(Type.Number()),
    window: Type.Optional(Type.String()),
    unit: Type.Optional(Type.String({ description: 'unit of value and threshold, e.g. mm, deg/h' })),
    tf: Type.Optional(Type.Number({ description: 'forecast time of failure, epoch ms' })),
    r2: Type.Optional(Type.Number({ description: 'fit quality of the time-of-failure forecast' })),
    operator: Type.Optional(Type.String({ description: 'who released a level by hand' })),
    text: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);
export type LevelReason = Static<typeof LevelReason>;

/** `slopeguard/v1/{site}/level`, retained: the site's official level. */
export const SiteLevel = Type.Object(
  {
    level: Type.Integer({ minimum: 0, maximum: 4 }),
    ts: EpochMs,
    reasons: Type.Array(LevelReason),
  },
  { additionalProperties: true },
);
export type SiteLevel = Static<typeof SiteLevel>;

export { Id };
