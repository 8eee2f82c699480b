import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseSiteConfigText, type SiteConfig } from '@slopeguard/core/engine/index.ts';
import { parse as parseYaml } from 'yaml';

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
      },
      { additionalProperties: false, default: {} },
    ),
    store: Type.Union([SqliteStore, Influx1Store, Influx2Store], { default: { type: 'sqlite' } }),
    http: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
      },
      { additionalProperties: false, default: {} },
    ),
    sites_dir: Type.Optional(Type.String({ description: 'folder of site YAML files for the alert engine' })),
    auto_configure_sites: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type ServerConfig = Static<typeof ServerConfig>;

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
  value.data_dir = resolve(value.data_dir);
  return { ok: true, value };
}

/** Reads every *.yaml / *.yml / *.json site file of a folder; all errors of all files at once. */
export function loadSiteConfigs(dir: string): Loaded<Map<string, SiteConfig>> {
  const configs = new Map<string, SiteConfig>();
  const errors: string[] = [];
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort();
  } catch (err) {
    return { ok: false, errors: [`${dir}: ${(err as Error).message}`] };
  }
  for (const f of files) {
    const parsed = parseSiteConfigText(
      readFileSync(join(dir, f), 'utf8'),
      f.endsWith('.json') ? 'json' : 'yaml',
    );
    if (!parsed.ok) {
      for (const e of parsed.errors) errors.push(`${f}: ${e}`);
      continue;
    }
    if (configs.has(parsed.config.id)) errors.push(`${f}: site ${parsed.config.id} is configured twice`);
    configs.set(parsed.config.id, parsed.config);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: configs };
}
