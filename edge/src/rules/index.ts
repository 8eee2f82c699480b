import type { Level } from '@slopeguard/core';
import {
  createEngine,
  type EngineState,
  parseSiteConfig,
  type SiteConfig,
} from '@slopeguard/core/engine/index.ts';
import type { LocalRules } from './types.ts';

export type { LevelChange, LocalRules, SensorHealth } from './types.ts';

/** A sensor as the gateway knows it from its driver config. */
export interface KnownSensor {
  id: string;
  kind: string;
  intervalMs?: number;
}

/**
 * The gateway's `engine` block is the engine's site config without `id` (it is the gateway's site)
 * and with `sensors` optional: by default they are the sensors of the configured drivers, so a
 * gateway file names each sensor once. Give `sensors` to set per-sensor ranges, baselines or stuck
 * limits. Absent, the engine runs with its documented defaults: local autonomy is on unless
 * `enabled: false` says otherwise.
 */
export function siteConfigInput(site: string, engine: unknown, sensors: KnownSensor[]): unknown {
  const { enabled: _enabled, ...rest } = (engine ?? {}) as Record<string, unknown>;
  return { id: site, ...rest, sensors: rest.sensors ?? sensors.map((s) => ({ ...s })) };
}

/** Off when told so, or when there is no sensor to run on (neither drivers' sensors nor engine.sensors). */
function disabled(engine: unknown, sensors: KnownSensor[]): boolean {
  const e = engine as { enabled?: unknown; sensors?: unknown } | undefined;
  return e?.enabled === false || (sensors.length === 0 && !Array.isArray(e?.sensors));
}

/** Errors in the `engine` block, each with its path below /engine. */
export function checkRules(site: string, engine: unknown, sensors: KnownSensor[]): string[] {
  if (engine !== undefined && (typeof engine !== 'object' || engine === null || Array.isArray(engine))) {
    return ['/: expected a mapping'];
  }
  if (engine && 'id' in engine) return ["/id: not allowed here: the site id is the gateway config's `site`"];
  const enabled = (engine as { enabled?: unknown } | undefined)?.enabled;
  if (enabled !== undefined && typeof enabled !== 'boolean') return ['/enabled: Expected boolean'];
  if (disabled(engine, sensors)) return [];
  const r = parseSiteConfig(siteConfigInput(site, engine, sensors));
  if (r.ok) return [];
  // The id is the gateway's `site`, and sensors taken from the drivers are checked at /drivers:
  // both are reported there already.
  const derived = (engine as { sensors?: unknown } | undefined)?.sensors === undefined;
  return r.errors.filter((e) => !e.startsWith('/id:') && !(derived && e.startsWith('/sensors')));
}

/** Rules that never raise a level: with `enabled: false` the gateway forwards and follows the official level only. */
const NONE: LocalRules = {
  level: 0 as Level,
  push: () => [],
  tick: () => [],
  release: () => [],
  state: () => ({}),
  health: () => ({}),
};

/** The engine for this gateway's own sensors, resumed from `saved` when given. Throws on bad config. */
export function createRules(
  site: string,
  engine: unknown,
  sensors: KnownSensor[],
  saved?: unknown,
): LocalRules {
  if (disabled(engine, sensors)) return NONE;
  const r = parseSiteConfig(siteConfigInput(site, engine, sensors));
  if (!r.ok) throw new Error(`invalid rules: ${r.errors.join('; ')}`);
  const config: SiteConfig = r.config;
  const state = saved && typeof saved === 'object' && 'v' in saved ? (saved as EngineState) : undefined;
  return createEngine(config, state);
}
