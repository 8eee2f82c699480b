import { type Static, Type } from '@sinclair/typebox';
import { Id, SensorKindSchema } from '@slopeguard/core';
import { Calibration, Counter, Range } from '@slopeguard/firmware-bridge/config.ts';

/**
 * The `mqtt` driver's config (docs/gateway.md, "Sensors over MQTT"): the gateway subscribes to a
 * local broker that field nodes (ESP32, LoRa bridges) publish to. Each sensor names a topic filter;
 * with `fields` its JSON payload is mapped (existing nodes, any JSON), without it the payload is in
 * the native format (new firmware).
 */
const strict = { additionalProperties: false } as const;

const FieldName = Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' });
/** A dot path into the payload: `distance`, `object.tilt.x`, `data.0.value` (array index). */
const JsonPath = Type.String({
  pattern: '^[A-Za-z0-9_-]{1,64}(\\.[A-Za-z0-9_-]{1,64}){0,7}$',
  description: 'dot path into the JSON payload, e.g. object.distance_mm or data.0.v',
});
/** An MQTT topic filter: `+` and a final `#` as wildcards; checked further by `topicFilterError`. */
const TopicFilter = Type.String({ minLength: 1, maxLength: 256, pattern: '^[^$\\s][^\\s]*$' });

export const MqttFieldSource = Type.Union([
  JsonPath,
  Type.Object(
    {
      path: JsonPath,
      scale: Type.Optional(Type.Number({ description: 'default 1' })),
      offset: Type.Optional(Type.Number({ description: 'default 0; value = raw * scale + offset' })),
    },
    strict,
  ),
]);
export type MqttFieldSource = Static<typeof MqttFieldSource>;

export const MqttSensor = Type.Object(
  {
    id: Id,
    kind: SensorKindSchema,
    intervalMs: Type.Optional(
      Type.Integer({ minimum: 100, maximum: 86_400_000, description: 'how often the node reports' }),
    ),
    topic: Type.Optional(TopicFilter),
    fields: Type.Optional(
      Type.Record(FieldName, MqttFieldSource, {
        minProperties: 1,
        maxProperties: 16,
        description: 'reading field -> where it is in the payload; without it: the native format',
      }),
    ),
    ts: Type.Optional(
      Type.Object(
        {
          path: JsonPath,
          unit: Type.Union([Type.Literal('ms'), Type.Literal('s'), Type.Literal('iso')], { default: 'ms' }),
        },
        { ...strict, description: "the reading's time in the payload; default: when it arrived" },
      ),
    ),
    calibration: Type.Optional(Calibration),
    range: Type.Optional(Range),
    counter: Type.Optional(Counter),
  },
  strict,
);
export type MqttSensor = Static<typeof MqttSensor>;

export const MqttDriver = Type.Object(
  {
    driver: Type.Literal('mqtt'),
    id: Id,
    url: Type.String({
      pattern: '^mqtts?://[^\\s]+$',
      default: 'mqtt://127.0.0.1:1883',
      description: 'the local broker the nodes publish to',
    }),
    username: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    passwordFile: Type.Optional(Type.String({ minLength: 1 })),
    caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM CA bundle for mqtts://' })),
    clientId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'default slopeguard-{site}-{gateway}-{id}' }),
    ),
    qos: Type.Union([Type.Literal(0), Type.Literal(1)], {
      default: 1,
      description: 'subscription QoS; 1 with a persistent session keeps messages while the gateway restarts',
    }),
    topicPrefix: Type.String({
      pattern: '^[^$+#\\s][^+#\\s]*$',
      maxLength: 128,
      default: 'slopeguard-node',
      description: 'native format: a sensor without `topic` listens on {topicPrefix}/{sensor id}',
    }),
    intervalMs: Type.Integer({
      minimum: 100,
      maximum: 86_400_000,
      default: 60_000,
      description: 'how often the nodes report, unless a sensor says',
    }),
    staleIntervals: Type.Integer({
      minimum: 2,
      maximum: 1000,
      default: 3,
      description: 'a sensor silent this many intervals is down',
    }),
    maxPayloadBytes: Type.Integer({ minimum: 64, maximum: 262_144, default: 4096 }),
    reconnectMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 2000 }),
    sensors: Type.Array(MqttSensor, { minItems: 1, maxItems: 256 }),
  },
  strict,
);
export type MqttDriverConfig = Static<typeof MqttDriver>;

/** What the schema cannot say about a topic filter (MQTT 3.1.1 §4.7.1): wildcards fill whole levels. */
export function topicFilterError(filter: string): string | undefined {
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] ?? '';
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1))
      return `'#' must be a whole level and the last one: ${JSON.stringify(filter)}`;
    if (l.includes('+') && l !== '+') return `'+' must be a whole level: ${JSON.stringify(filter)}`;
  }
  return undefined;
}

/** The topic filter a sensor listens on. */
export function sensorTopic(d: Pick<MqttDriverConfig, 'topicPrefix'>, s: MqttSensor): string {
  return s.topic ?? `${d.topicPrefix ?? 'slopeguard-node'}/${s.id}`;
}

/** Does `topic` match `filter`? MQTT 3.1.1 §4.7: `+` one level, `#` this level and all below. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
