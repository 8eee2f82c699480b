import { type Static, Type } from '@sinclair/typebox';
import { Count, Finite, Key, Level, Text } from './bounds.ts';
import { LevelReasons } from './level.ts';
import { EpochMs, Id } from './reading.ts';

/**
 * `slopeguard/v1/{site}/{gateway}/event`: one schema per event type, discriminated by `type`.
 * Events are queued durably on the gateway and delivered at least once.
 */
const event = <T extends string, P extends Parameters<typeof Type.Object>[0]>(type: T, props: P) =>
  Type.Object({ type: Type.Literal(type), ts: EpochMs, ...props }, { additionalProperties: false });

/** The agent started (after boot, a crash or an update). */
export const StartedEvent = event('started', { version: Type.String({ maxLength: 64 }) });

/** The gateway's local level changed (its own rule engine), with the reasons. */
export const LevelEvent = event('level', {
  scope: Type.Literal('local'),
  level: Level,
  previous: Level,
  reasons: LevelReasons,
  operator: Type.Optional(Type.String({ maxLength: 64 })),
});

/** Readings were lost to the disk quota. */
export const QueueDroppedEvent = event('queue_dropped', {
  dropped: Count,
  total: Count,
  policy: Type.Union([Type.Literal('drop-oldest'), Type.Literal('refuse-new')]),
  depth: Count,
});

const DeviceState = Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]);

/** A driver's health changed (port lost, errors, recovered). */
export const SensorHealthEvent = event('sensor_health', {
  driver: Key,
  state: DeviceState,
  previous: DeviceState,
  lastError: Type.Optional(Text()),
});

/** A driver could not start (port missing, bad map). */
export const DriverFailedEvent = event('driver_failed', { driver: Key, error: Text() });

/** Outputs were switched on by a `test-siren` command. */
export const OutputTestEvent = event('output_test', {
  outputs: Type.Array(Id, { maxItems: 32 }),
  seconds: Count,
});

/** The gateway's clock disagrees with the broker's by more than the allowed skew (or agrees again). */
export const ClockFaultEvent = event('clock_fault', { offsetMs: Finite, ok: Type.Boolean() });

export const GatewayEvent = Type.Union([
  StartedEvent,
  LevelEvent,
  QueueDroppedEvent,
  SensorHealthEvent,
  DriverFailedEvent,
  OutputTestEvent,
  ClockFaultEvent,
]);
export type GatewayEvent = Static<typeof GatewayEvent>;
export type GatewayEventType = GatewayEvent['type'];
export const GATEWAY_EVENT_TYPES = GatewayEvent.anyOf.map(
  (s) => s.properties.type.const,
) as GatewayEventType[];
