import { resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Limits } from '@slopeguard/broker';
import { parseNotifyConfig, type ResolvedNotify } from '@slopeguard/control-center/notify/config.ts';
import { parseWarnConfig, type ResolvedWarn } from '@slopeguard/control-center/warn/config.ts';
import type { SiteConfig } from '@slopeguard/core/engine/index.ts';
import { parse as parseYaml } from 'yaml';
import { ClusterConfig, clusterErrors } from './cluster.ts';
import { loadSiteFiles } from './site-files.ts';

/**
 * server.yaml: the broker, recorder, store and control center of one installation. One schema gives
 * the type, the defaults and the validation; unknown keys are errors (a typo must not be ignored).
 */
const Listener = Type.Object(
  { host: Type.String({ default: '127.0.0.1' }), port: Type.Integer({ minimum: 0, maximum: 65535 }) },
  { additionalProperties: false },
);
const TlsListener = Type.Object(
  {
    host: Type.String({ default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8883 }),
    cert: Type.String({ description: 'PEM certificate (slopeguard certs makes one)' }),
    key: Type.String(),
    ca: Type.Optional(Type.String()),
    require_client_cert: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
const WsListener = Type.Object(
  {
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8083 }),
    path: Type.String({ default: '/mqtt' }),
  },
  { additionalProperties: false },
);

const PositiveInt = (description: string) => Type.Optional(Type.Integer({ minimum: 1, description }));
const PositiveNumber = (description: string) =>
  Type.Optional(Type.Number({ exclusiveMinimum: 0, description }));

/** mqtt.limits: the broker's limits (docs/broker.md#limits); each key overrides one default. */
const LimitsConfig = Type.Object(
  {
    max_packet_bytes: PositiveInt('largest MQTT packet, bytes (262144)'),
    max_topic_levels: PositiveInt('deepest topic (8)'),
    max_client_id_length: PositiveInt('longest client id (192)'),
    connects_per_minute: PositiveNumber('successful CONNECTs per account and minute (30)'),
    connect_burst: PositiveInt('(10)'),
    messages_per_second: PositiveNumber('PUBLISHes per account and second (200)'),
    message_burst: PositiveInt('(2000)'),
    readings_per_second: PositiveNumber('readings per account and second (10000)'),
    reading_burst: PositiveInt('(100000)'),
    max_sensors_per_gateway: PositiveInt('distinct sensor ids per gateway (256)'),
    max_clock_skew_ms: PositiveInt('how far ahead of the broker clock a reading may be (300000)'),
    failed_auth_per_minute_per_address: PositiveNumber('failed logins per remote address and minute (30)'),
    failed_auth_burst: PositiveInt('(30)'),
    max_throttle_ms: PositiveInt('longest hold of an over-rate PUBLISH before closing (10000)'),
  },
  { additionalProperties: false, default: {} },
);

const SqliteStore = Type.Object(
  { type: Type.Literal('sqlite'), path: Type.Optional(Type.String()) },
  { additionalProperties: false },
);
const Influx1Store = Type.Object(
  {
    type: Type.Literal('influxdb1'),
    url: Type.String({ default: 'http://127.0.0.1:8086' }),
    database: Type.String({ default: 'slopeguard' }),
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String({ description: 'or SLOPEGUARD_INFLUX_PASSWORD' })),
  },
  { additionalProperties: false },
);
const Influx2Store = Type.Object(
  {
    type: Type.Literal('influxdb2'),
    url: Type.String({ default: 'http://127.0.0.1:8086' }),
    org: Type.String(),
    bucket: Type.String({ default: 'slopeguard' }),
    token: Type.Optional(Type.String({ description: 'or SLOPEGUARD_INFLUX_TOKEN' })),
  },
  { additionalProperties: false },
);

export const ServerConfig = Type.Object(
  {
    data_dir: Type.String({ default: '/var/lib/slopeguard' }),
    log_level: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    mqtt: Type.Object(
      {
        tcp: Type.Optional(Listener),
        tls: Type.Optional(TlsListener),
        ws: Type.Optional(WsListener),
        persistence: Type.Union([Type.Literal('sqlite'), Type.Literal('memory')], { default: 'sqlite' }),
        limits: LimitsConfig,
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.Union([SqliteStore, Influx1Store, Influx2Store], { default: { type: 'sqlite' } }),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        tls: Type.Optional(
          Type.Object(
            {
              cert: Type.String({ description: 'PEM certificate (slopeguard certs server makes one)' }),
              key: Type.String({ description: 'PEM private key' }),
            },
            { additionalProperties: false, description: 'serve the control center over HTTPS' },
          ),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    cluster: Type.Optional(ClusterConfig),
    sites_dir: Type.Optional(Type.String({ description: 'folder of site YAML files for the alert engine' })),
    auto_configure_sites: Type.Boolean({ default: false }),
    // Checked by its own schema (parseNotifyConfig), which reports errors per channel kind.
    notify: Type.Optional(
      Type.Unknown({
        description: "officials' notification channels and escalation (docs/notifications.md)",
      }),
    ),
    // Checked by warn's own schema (parseWarnConfig), which checks its references into notify.
    warn: Type.Optional(Type.Unknown({ description: "residents' warnings (docs/warnings.md)" })),
  },
  { additionalProperties: false },
);
export type ServerConfig = Static<typeof ServerConfig>;

/** The broker's `limits` option from mqtt.limits (snake_case in the file, as every other key). */
export function brokerLimits(config: ServerConfig): Partial<Limits> {
  const l = config.mqtt.limits;
  const out: Partial<Limits> = {};
  const set = <K extends keyof Limits>(key: K, value: Limits[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('maxPacketBytes', l.max_packet_bytes);
  set('maxTopicLevels', l.max_topic_levels);
  set('maxClientIdLength', l.max_client_id_length);
  set('connectsPerMinute', l.connects_per_minute);
  set('connectBurst', l.connect_burst);
  set('messagesPerSecond', l.messages_per_second);
  set('messageBurst', l.message_burst);
  set('readingsPerSecond', l.readings_per_second);
  set('readingBurst', l.reading_burst);
  set('maxSensorsPerGateway', l.max_sensors_per_gateway);
  set('maxClockSkewMs', l.max_clock_skew_ms);
  set('failedAuthPerMinutePerAddress', l.failed_auth_per_minute_per_address);
  set('failedAuthBurst', l.failed_auth_burst);
  set('maxThrottleMs', l.max_throttle_ms);
  return out;
}

export type Loaded<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Parses server.yaml text; fills defaults, applies environment overrides for secrets, lists every error. */
export function parseServerConfig(text: string, env: NodeJS.ProcessEnv = process.env): Loaded<ServerConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    return { ok: false, errors: [`YAML: ${(err as Error).message}`] };
  }
  const value = Value.Default(ServerConfig, structuredClone(raw)) as ServerConfig;
  const errors = [...Value.Errors(ServerConfig, value)].map((e) => `${e.path || '/'}: ${e.message}`);
  if (errors.length > 0) return { ok: false, errors: [...new Set(errors)] };
  if (!value.mqtt.tcp) {
    // The control center reaches its broker over TCP; bind it to 127.0.0.1 if gateways use TLS.
    return { ok: false, errors: ['/mqtt/tcp: required (bind it to 127.0.0.1 if gateways use tls)'] };
  }
  // Secrets come from the environment when present, so the file can be world-readable.
  if (value.store.type === 'influxdb1' && env.SLOPEGUARD_INFLUX_PASSWORD)
    value.store.password = env.SLOPEGUARD_INFLUX_PASSWORD;
  if (value.store.type === 'influxdb2') {
    if (env.SLOPEGUARD_INFLUX_TOKEN) value.store.token = env.SLOPEGUARD_INFLUX_TOKEN;
    if (!value.store.token)
      return { ok: false, errors: ['/store/token: required (or SLOPEGUARD_INFLUX_TOKEN)'] };
  }
  if (value.cluster && env.SLOPEGUARD_REDIS_URL) value.cluster.redis = env.SLOPEGUARD_REDIS_URL;
  const cluster = clusterErrors(value);
  if (cluster.length > 0) return { ok: false, errors: cluster };
  if (value.notify !== undefined) {
    const notify = parseNotifyConfig(value.notify, env, '/notify');
    if (!notify.ok) return { ok: false, errors: notify.errors };
  }
  value.data_dir = resolve(value.data_dir);
  if (value.warn !== undefined) {
    const warn = parseWarnConfig(value.warn, { notify: serverNotify(value, env), dataDir: value.data_dir });
    if (!warn.ok) return { ok: false, errors: warn.errors };
  }
  return { ok: true, value };
}

/** The resolved `notify:` section (already checked by parseServerConfig), or undefined. */
export function serverNotify(
  config: ServerConfig,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedNotify | undefined {
  if (config.notify === undefined) return undefined;
  const r = parseNotifyConfig(config.notify, env, '/notify');
  return r.ok ? r.value : undefined;
}

/** The resolved `warn:` section (already checked by parseServerConfig), or undefined. */
export function serverWarn(
  config: ServerConfig,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedWarn | undefined {
  if (config.warn === undefined) return undefined;
  const r = parseWarnConfig(config.warn, { notify: serverNotify(config, env), dataDir: config.data_dir });
  return r.ok ? r.value : undefined;
}

/** The rules of every site file of a folder (their areas: loadSiteFiles in site-files.ts). */
export function loadSiteConfigs(dir: string): Loaded<Map<string, SiteConfig>> {
  const r = loadSiteFiles(dir);
  return r.ok ? { ok: true, value: r.configs } : r;
}
