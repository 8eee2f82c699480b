import { type Static, Type } from '@sinclair/typebox';
import { DEFAULT_MAX_CLOCK_AHEAD_MS, Id, SensorKindSchema } from '@slopeguard/core';
import { MqttDriver } from '../drivers/mqtt/config.ts';
import { BridgeDriverConfig } from './bridge.ts';

/**
 * The gateway configuration (docs/gateway.md is its reference; keep the two in step). One schema gives
 * the static type, the validator (every error with its path) and the defaults. Every object refuses
 * unknown keys so that a typo (`intervalMS`) is an error instead of a silently ignored setting.
 */
const strict = { additionalProperties: false } as const;

export const Uplink = Type.Object(
  {
    url: Type.String({ pattern: '^mqtts?://[^\\s]+$', description: 'mqtt://host:1883 or mqtts://host:8883' }),
    clientId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'default: {site}-{gateway}' }),
    ),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    password: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'prefer passwordFile or env' }),
    ),
    passwordFile: Type.Optional(Type.String({ minLength: 1, description: 'file holding the password' })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle for mqtts://' })),
    keepaliveS: Type.Integer({ minimum: 5, maximum: 3600, default: 60 }),
    connectTimeoutMs: Type.Integer({ minimum: 1000, maximum: 300_000, default: 30_000 }),
    reconnectMinMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 1000 }),
    reconnectMaxMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000 }),
    batchMaxReadings: Type.Integer({ minimum: 1, maximum: 1000, default: 500 }),
    batchIntervalMs: Type.Integer({ minimum: 0, maximum: 600_000, default: 1000 }),
    backlogRatePerS: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000 }),
    maxInflight: Type.Integer({ minimum: 1, maximum: 64, default: 4 }),
  },
  strict,
);

export const Queue = Type.Object(
  {
    path: Type.Optional(Type.String({ minLength: 1, description: 'default: {dataDir}/queue.db' })),
    maxReadings: Type.Integer({ minimum: 1000, maximum: 100_000_000, default: 5_000_000 }),
    minFreeMb: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 64 }),
    policy: Type.Union([Type.Literal('drop-oldest'), Type.Literal('refuse-new')], { default: 'drop-oldest' }),
    commitIntervalMs: Type.Integer({ minimum: 10, maximum: 10_000, default: 250 }),
    synchronous: Type.Union([Type.Literal('FULL'), Type.Literal('NORMAL')], { default: 'FULL' }),
  },
  strict,
);

/** A value profile for the synthetic driver: base + slope * hours + amplitude * sin(2 pi t / period). */
const SyntheticValue = Type.Object(
  {
    base: Type.Optional(Type.Number({ description: 'default 0' })),
    slopePerHour: Type.Optional(Type.Number({ description: 'default 0' })),
    amplitude: Type.Optional(Type.Number({ description: 'default 0' })),
    periodS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'default 3600' })),
  },
  strict,
);

/**
 * Built into edge: a driver that makes readings from formulas, on the clock's time. For tests,
 * benchmarks and commissioning without hardware. Timestamps fall on a grid (multiples of intervalMs),
 * so a reading is a pure function of (sensor, ts) and can be checked after the fact.
 */
export const SyntheticDriver = Type.Object(
  {
    driver: Type.Literal('synthetic'),
    id: Id,
    sensors: Type.Array(
      Type.Object(
        {
          id: Id,
          kind: SensorKindSchema,
          intervalMs: Type.Integer({ minimum: 10, maximum: 86_400_000, default: 1000 }),
          values: Type.Optional(
            Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), SyntheticValue),
          ),
          supplyV: Type.Optional(Type.Number()),
        },
        strict,
      ),
      { minItems: 1, maxItems: 256 },
    ),
  },
  strict,
);
export type SyntheticDriver = Static<typeof SyntheticDriver>;

/**
 * Built into edge: plays a named scenario model from simulators (see docs/gateway.md). Its sensors are
 * the scenario's; give them to the engine with `engine.sensors` (the config cannot know them).
 */
export const ScenarioDriver = Type.Object(
  {
    driver: Type.Literal('scenario'),
    id: Id,
    scenario: Type.String({ minLength: 1, description: 'e.g. umyeonsan-2011, slow-creep' }),
    intervalMs: Type.Optional(
      Type.Integer({ minimum: 1000, maximum: 86_400_000, description: "default: the scenario's" }),
    ),
    seed: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  strict,
);
export type ScenarioDriver = Static<typeof ScenarioDriver>;

export const DriverEntry = Type.Union([SyntheticDriver, ScenarioDriver, MqttDriver, ...BridgeDriverConfig]);
export type DriverEntry = Static<typeof DriverEntry>;

const OutputBase = {
  id: Id,
  atLevel: Type.Integer({
    minimum: 1,
    maximum: 4,
    default: 4,
    description: 'on while effective level >= this',
  }),
};

export const GpioOutput = Type.Object(
  {
    kind: Type.Literal('gpio'),
    ...OutputBase,
    chip: Type.String({ minLength: 1, default: 'gpiochip0' }),
    line: Type.Integer({ minimum: 0, maximum: 1023 }),
    activeLow: Type.Boolean({ default: false }),
    gpiodVersion: Type.Union([Type.Literal(1), Type.Literal(2)], { default: 2 }),
    gpiosetPath: Type.String({ minLength: 1, default: 'gpioset' }),
  },
  strict,
);
export const SerialRelayOutput = Type.Object(
  {
    kind: Type.Literal('serial-relay'),
    ...OutputBase,
    port: Type.String({ minLength: 1 }),
    baudRate: Type.Integer({ minimum: 300, maximum: 921_600, default: 9600 }),
    on: Type.String({ pattern: '^([0-9a-fA-F]{2})+$', description: 'bytes as hex, e.g. A00101A2' }),
    off: Type.String({ pattern: '^([0-9a-fA-F]{2})+$' }),
  },
  strict,
);
export const SimulatedOutput = Type.Object(
  {
    kind: Type.Literal('simulated'),
    ...OutputBase,
    file: Type.Optional(Type.String({ minLength: 1, description: 'JSON lines of state changes' })),
  },
  strict,
);
/**
 * An LED signboard (전광판) on a serial line: shows the control center's retained notice of its sites
 * (docs/gateway.md "Signboards"). No `atLevel`: it shows words, whatever the level.
 */
export const SignboardOutput = Type.Object(
  {
    kind: Type.Literal('signboard'),
    id: Id,
    port: Type.String({ minLength: 1 }),
    baudRate: Type.Integer({ minimum: 300, maximum: 921_600, default: 9600 }),
    sites: Type.Optional(
      Type.Array(Id, {
        minItems: 1,
        maxItems: 16,
        uniqueItems: true,
        description: "default: the gateway's site",
      }),
    ),
    language: Type.Union([Type.Literal('ko'), Type.Literal('en'), Type.Literal('both')], { default: 'both' }),
    form: Type.Union([Type.Literal('short'), Type.Literal('long')], {
      default: 'short',
      description: 'short: at most 90 characters; long: at most 157',
    }),
  },
  strict,
);
export const OutputConfig = Type.Union([GpioOutput, SerialRelayOutput, SimulatedOutput, SignboardOutput]);
export type OutputConfig = Static<typeof OutputConfig>;
/** The outputs the alarm switches by level (all but signboards). */
export type AlarmOutputConfig = Exclude<OutputConfig, { kind: 'signboard' }>;
export type SignboardOutputConfig = Static<typeof SignboardOutput>;

export const GatewayConfig = Type.Object(
  {
    site: Id,
    gateway: Id,
    dataDir: Type.String({ minLength: 1, default: '/var/lib/slopeguard' }),
    uplink: Uplink,
    queue: Type.Object(Queue.properties, { ...strict, default: {} }),
    drivers: Type.Array(DriverEntry, { minItems: 1, maxItems: 32 }),
    engine: Type.Optional(
      Type.Unknown({
        description:
          "the alert engine (core/engine) on this gateway: its site config without id; sensors default to the drivers' sensors; `enabled: false` turns local rules off",
      }),
    ),
    outputs: Type.Array(OutputConfig, { default: [], maxItems: 16 }),
    sampling: Type.Object(
      {
        fastAtLevel: Type.Integer({ minimum: 1, maximum: 4, default: 2 }),
        fastIntervalMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000 }),
      },
      { ...strict, default: {} },
    ),
    official: Type.Object(
      {
        follow: Type.Boolean({ default: true }),
        holdMs: Type.Integer({ minimum: 0, maximum: 86_400_000, default: 600_000 }),
      },
      { ...strict, default: {} },
    ),
    status: Type.Object(
      { intervalMs: Type.Integer({ minimum: 1000, maximum: 3_600_000, default: 60_000 }) },
      { ...strict, default: {} },
    ),
    clock: Type.Object(
      {
        maxSkewMs: Type.Integer({
          minimum: 1000,
          maximum: 86_400_000,
          default: DEFAULT_MAX_CLOCK_AHEAD_MS,
          description:
            "readings stamped further ahead of the gateway's clock are refused; the gateway's clock is faulty when this far off the broker's",
        }),
      },
      { ...strict, default: {} },
    ),
    testSirenMaxS: Type.Integer({ minimum: 1, maximum: 600, default: 30 }),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          { default: 'info' },
        ),
      },
      { ...strict, default: {} },
    ),
  },
  strict,
);
export type GatewayConfig = Static<typeof GatewayConfig>;
export type UplinkConfig = Static<typeof Uplink>;
export type QueueConfig = Static<typeof Queue>;

/** The discriminator of each union in the schema, so errors name the variant's fields. */
export const DISCRIMINATORS: readonly string[] = ['driver', 'kind'];
