import { type Static, Type } from '@sinclair/typebox';
import { Count, Finite, Key, Level, Name, Text } from './bounds.ts';
import { EpochMs, Id } from './reading.ts';

/**
 * `slopeguard/v1/{site}/{gateway}/status`, retained. The gateway's health, closed: every field is
 * declared and bounded. The MQTT will publishes the minimal `{"state": "offline", "ts": ...}`.
 */

const DeviceState = Type.Union([Type.Literal('ok'), Type.Literal('degraded'), Type.Literal('down')]);

/** Error and event counters by reason: `{ "crc": 3, "timeout": 1 }`. */
const Counters = Type.Record(Key, Count, { maxProperties: 32, additionalProperties: false });

/** Health of one sensor behind a driver (firmware-bridge's SensorHealth). */
export const DeviceSensorHealth = Type.Object(
  {
    state: DeviceState,
    readings: Count,
    errors: Counters,
    lastError: Type.Optional(Text()),
    lastErrorTs: Type.Optional(EpochMs),
    lastReadingTs: Type.Optional(EpochMs),
    latencyMs: Type.Optional(Finite),
    supplyV: Type.Optional(Finite),
  },
  { additionalProperties: false },
);

/** Health of one driver (a serial port or a bus), firmware-bridge's DriverHealth. */
export const DriverHealthSchema = Type.Object(
  {
    state: DeviceState,
    lastError: Type.Optional(Text()),
    lastErrorTs: Type.Optional(EpochMs),
    errors: Counters,
    readings: Count,
    latencyMs: Type.Optional(Finite),
    supplyV: Type.Optional(Finite),
    reopens: Type.Optional(Count),
    sensors: Type.Optional(
      Type.Record(Id, DeviceSensorHealth, { maxProperties: 64, additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

/** The rule engine's view of one sensor (core engine `SensorHealth`). */
export const EngineSensorHealth = Type.Object(
  {
    status: Name,
    healthy: Type.Boolean(),
    since: Type.Union([EpochMs, Type.Null()]),
    lastTs: Type.Union([EpochMs, Type.Null()]),
    intervalMs: Count,
    readings: Count,
    spikes: Count,
    steps: Count,
    outOfOrder: Count,
    outOfRange: Count,
    // Optional: gateways from before these counters existed do not send them.
    /** Readings dropped as stamped too far ahead of the site clock. */
    future: Type.Optional(Count),
    /** A reading held as too far ahead, awaiting confirmation. */
    heldTs: Type.Optional(Type.Union([EpochMs, Type.Null()])),
    /** Sparse sensors: readings held as unconfirmed until the next one judged them. */
    unconfirmed: Type.Optional(Count),
    level: Level,
  },
  { additionalProperties: false },
);

export const OutputStatus = Type.Object(
  {
    on: Type.Boolean(),
    kind: Name,
    since: EpochMs,
    lastError: Type.Optional(Text()),
    atLevel: Type.Integer({ minimum: 0, maximum: 4 }),
  },
  { additionalProperties: false },
);

export const QueueStatus = Type.Object(
  {
    durable: Type.Boolean(),
    depth: Count,
    oldestTs: Type.Union([EpochMs, Type.Null()]),
    dropped: Count,
    events: Count,
    inflightBatches: Count,
    nextSeq: Count,
    dbBytes: Count,
  },
  { additionalProperties: false },
);

/** The gateway's own clock against the broker's (`slopeguard/v1/clock`). */
export const ClockStatus = Type.Object(
  {
    /** Gateway clock minus broker clock, ms (positive: the gateway is ahead). */
    offsetMs: Finite,
    ok: Type.Boolean(),
    /** When the broker's time was last heard, gateway clock. */
    checkedTs: Type.Optional(EpochMs),
  },
  { additionalProperties: false },
);

export const Status = Type.Object(
  {
    state: Type.Union([Type.Literal('online'), Type.Literal('offline')]),
    ts: EpochMs,
    version: Type.Optional(Type.String({ maxLength: 64 })),
    uptimeS: Type.Optional(Count),
    level: Type.Optional(
      Type.Object(
        {
          local: Level,
          official: Type.Union([Level, Type.Null()]),
          officialFresh: Type.Boolean(),
          effective: Level,
        },
        { additionalProperties: false },
      ),
    ),
    queue: Type.Optional(QueueStatus),
    sensors: Type.Optional(
      Type.Record(Key, DriverHealthSchema, { maxProperties: 32, additionalProperties: false }),
    ),
    sensorHealth: Type.Optional(
      Type.Record(Id, EngineSensorHealth, { maxProperties: 256, additionalProperties: false }),
    ),
    readings: Type.Optional(
      Type.Object({ accepted: Count, rejected: Count }, { additionalProperties: false }),
    ),
    outputs: Type.Optional(Type.Record(Id, OutputStatus, { maxProperties: 32, additionalProperties: false })),
    uplink: Type.Optional(Type.Object({ sentReadings: Count }, { additionalProperties: false })),
    disk: Type.Optional(
      Type.Union([
        Type.Object({ freeBytes: Count, totalBytes: Count }, { additionalProperties: false }),
        Type.Null(),
      ]),
    ),
    memory: Type.Optional(
      Type.Object(
        { rssBytes: Count, heapUsedBytes: Count, systemFreeBytes: Count, systemTotalBytes: Count },
        { additionalProperties: false },
      ),
    ),
    cpuTempC: Type.Optional(Finite),
    supplyV: Type.Optional(Finite),
    clock: Type.Optional(ClockStatus),
  },
  { additionalProperties: false },
);
export type Status = Static<typeof Status>;
