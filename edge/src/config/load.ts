import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { driverId } from '@slopeguard/firmware-bridge/config.ts';
import { parseDocument } from 'yaml';
import { checkRules } from '../rules/index.ts';
import { explain } from './explain.ts';
import { checkRegisterMaps } from './maps.ts';
import { checkMqttDrivers } from './mqtt.ts';
import { DISCRIMINATORS, type DriverEntry, GatewayConfig } from './schema.ts';
import { configuredSensors } from './sensors.ts';

export type ConfigResult = { ok: true; config: GatewayConfig } | { ok: false; errors: string[] };

/** Environment variables that override the file, for secrets that should not sit in a YAML file. */
export const ENV_OVERRIDES = {
  SLOPEGUARD_MQTT_URL: 'uplink.url',
  SLOPEGUARD_MQTT_USERNAME: 'uplink.username',
  SLOPEGUARD_MQTT_PASSWORD: 'uplink.password',
} as const;

export class ConfigError extends Error {
  readonly code = 'SG_ERR_EDGE_CONFIG';
  readonly errors: string[];
  constructor(file: string, errors: string[]) {
    super(`invalid gateway config ${file}:\n${errors.map((e) => `  ${e}`).join('\n')}`);
    this.errors = errors;
  }
}

/** Reads, checks and completes a gateway config file. Never throws; all problems come back as a list. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${file}: cannot read: ${(err as Error).message}`] };
  }
  return parseConfig(text, env);
}

export function parseConfig(text: string, env: NodeJS.ProcessEnv = {}): ConfigResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { ok: false, errors: doc.errors.map((e) => `yaml: ${e.message}`) };
  const raw: unknown = doc.toJS();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, errors: ['/: the config must be a YAML mapping'] };
  }
  const value = raw as Record<string, unknown>;
  applyEnv(value, env);
  // Defaults first, so that a missing optional section is filled in and its fields checked as well.
  Value.Default(GatewayConfig, value);
  const errors = explain(GatewayConfig, value, DISCRIMINATORS);
  if (errors.length === 0) errors.push(...crossChecks(value as GatewayConfig));
  const site = typeof value.site === 'string' ? value.site : 'site';
  errors.push(...checkRules(site, value.engine, configuredSensors(value.drivers)).map((e) => `/engine${e}`));
  if (errors.length > 0) return { ok: false, errors };
  const config = value as GatewayConfig;
  // The broker binds client ids to accounts: the id must be the username (or username-suffix), and
  // a gateway's username is `{site}.{gateway}` (broker/src/auth).
  config.uplink.clientId ??= config.uplink.username ?? `${config.site}.${config.gateway}`;
  config.queue.path ??= join(config.dataDir, 'queue.db');
  if (config.uplink.passwordFile && !config.uplink.password) {
    try {
      config.uplink.password = readFileSync(config.uplink.passwordFile, 'utf8').trim();
    } catch (err) {
      return { ok: false, errors: [`/uplink/passwordFile: cannot read: ${(err as Error).message}`] };
    }
  }
  return { ok: true, config };
}

function applyEnv(value: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  for (const [name, path] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const [section, key] = path.split('.') as [string, string];
    const target = value[section];
    if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
      (target as Record<string, unknown>)[key] = v;
    } else if (target === undefined) {
      value[section] = { [key]: v };
    }
  }
}

/**
 * What a schema cannot say: ids unique across drivers and outputs, sensor ids unique, sane ranges,
 * register maps that exist.
 */
function crossChecks(c: GatewayConfig): string[] {
  const errors: string[] = [];
  const seen = new Map<string, string>();
  c.drivers.forEach((d, i) => {
    const id = driverKey(d);
    const prior = seen.get(id);
    if (prior) errors.push(`/drivers/${i}/id: duplicate driver id ${JSON.stringify(id)} (also ${prior})`);
    seen.set(id, `/drivers/${i}`);
  });
  const sensors = new Map<string, string>();
  c.drivers.forEach((d, i) => {
    const list = (d as { sensors?: { id: string }[] }).sensors ?? [];
    list.forEach((s, j) => {
      const prior = sensors.get(s.id);
      if (prior)
        errors.push(
          `/drivers/${i}/sensors/${j}/id: duplicate sensor id ${JSON.stringify(s.id)} (also ${prior})`,
        );
      sensors.set(s.id, `/drivers/${i}/sensors/${j}`);
    });
  });
  const outputs = new Set<string>();
  c.outputs.forEach((o, i) => {
    if (outputs.has(o.id)) errors.push(`/outputs/${i}/id: duplicate output id ${JSON.stringify(o.id)}`);
    outputs.add(o.id);
  });
  if (c.uplink.reconnectMaxMs < c.uplink.reconnectMinMs) {
    errors.push('/uplink/reconnectMaxMs: must be >= reconnectMinMs');
  }
  if (c.uplink.url.startsWith('mqtt://') && c.uplink.caFile) {
    errors.push('/uplink/caFile: only used with mqtts:// URLs');
  }
  errors.push(...checkBrokerUrl(c.uplink.url));
  errors.push(...checkRegisterMaps(c.drivers), ...checkMqttDrivers(c.drivers));
  return errors;
}

/** The URL names the broker only: host, optional port, nothing else (credentials have their own keys). */
function checkBrokerUrl(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [`/uplink/url: not a URL: ${JSON.stringify(url)}`];
  }
  if (u.username || u.password)
    return ['/uplink/url: no credentials in the URL; use uplink.username and SLOPEGUARD_MQTT_PASSWORD'];
  if (u.hostname === '') return ['/uplink/url: no host name'];
  if ((u.pathname !== '' && u.pathname !== '/') || u.search || u.hash)
    return ['/uplink/url: only mqtt(s)://host:port, without a path or query'];
  return [];
}

/** A driver's id: given, or for a serial driver `{driver}:{port}` as firmware-bridge names it. */
export function driverKey(d: DriverEntry): string {
  return d.driver === 'synthetic' || d.driver === 'scenario' || d.driver === 'mqtt' ? d.id : driverId(d);
}
