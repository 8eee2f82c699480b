import type { SensorKind } from '@slopeguard/core';
import type { SensorHealth } from '@slopeguard/core/engine/index.ts';
import type { GatewayView, SensorView } from './live-view.ts';

/**
 * A site's data state, kept apart from its official level so that silence never reads as Normal:
 * - `no_data`: every gateway of the site is offline, or no healthy movement sensor (tilt,
 *   displacement; any sensor where the site has none) has reported within 3 of its sampling
 *   intervals (the engine's own `stale`);
 * - `degraded`: some sensor is not healthy, or some gateway is offline;
 * - `live`: otherwise.
 * The level stays the last known one while `no_data`; the dashboard shows both.
 */
export type DataState = 'live' | 'degraded' | 'no_data';

export interface DataStateResult {
  state: DataState;
  /** Why, in words an operator reads ("gateway gw-1 offline", "sensor tilt-1 stale"). */
  reasons: string[];
}

export interface DataStateInput {
  now: number;
  gateways: readonly GatewayView[];
  /** The engine's per-sensor health, when the site has an engine. */
  health?: Readonly<Record<string, SensorHealth>>;
  /** Sensor kinds by id (from the engine configuration or the live view). */
  kinds: ReadonlyMap<string, SensorKind>;
  /** Without an engine: the latest reading per sensor, judged against `fallbackStaleMs`. */
  sensors: readonly SensorView[];
  /** A gateway whose last message is older than this is offline (its will may never come). */
  gatewaySilenceMs: number;
  fallbackStaleMs: number;
  /**
   * With engine health: a sensor whose last reading is more than this many of its sampling
   * intervals older than `now` is behind, whatever the engine says (default 3, the engine's own
   * `health.staleIntervals`). The engine judges health on its own clock, the newest reading time; a
   * gateway replaying its backlog (hours of old readings, in order) keeps that clock in the past, and
   * each replayed reading makes its sensor look current to the engine. The site is not live then:
   * its data is old, and the site state says so on the control center's clock.
   */
  staleIntervals?: number;
}

const MOVEMENT: ReadonlySet<SensorKind> = new Set(['tilt', 'displacement']);

export function gatewayOffline(g: GatewayView, now: number, silenceMs: number): boolean {
  if (g.state === 'offline') return true;
  return g.lastSeen === undefined || now - g.lastSeen > silenceMs;
}

export function dataStateOf(i: DataStateInput): DataStateResult {
  const reasons: string[] = [];
  const offline = i.gateways.filter((g) => gatewayOffline(g, i.now, i.gatewaySilenceMs));
  for (const g of offline)
    reasons.push(g.state === 'offline' ? `gateway ${g.id} offline` : `gateway ${g.id} silent (no message)`);

  // Per sensor: healthy or not, and why not. A sensor still `waiting` for its first reading (its
  // 3 intervals since the engine started have not passed) is not counted as silent yet.
  const healthy = new Map<string, boolean>();
  if (i.health) {
    const k = i.staleIntervals ?? 3;
    for (const [id, h] of Object.entries(i.health)) {
      const behind = h.lastTs !== null && h.status !== 'stale' && i.now - h.lastTs > k * h.intervalMs;
      healthy.set(id, !behind && (h.healthy || h.status === 'waiting'));
      if (behind) reasons.push(`sensor ${id} behind (last reading ${ago(i.now - (h.lastTs ?? 0))} ago)`);
      else if (!h.healthy) reasons.push(`sensor ${id} ${h.status}`);
    }
  } else {
    for (const s of i.sensors) {
      const fresh = i.now - s.ts <= i.fallbackStaleMs;
      healthy.set(s.sensor, fresh);
      if (!fresh) reasons.push(`sensor ${s.sensor} stale`);
    }
  }
  const ids = [...healthy.keys()];
  const movement = ids.filter((id) => MOVEMENT.has(i.kinds.get(id) as SensorKind));
  const watched = movement.length > 0 ? movement : ids;
  const allOffline = i.gateways.length > 0 && offline.length === i.gateways.length;
  const anyHealthy = watched.some((id) => healthy.get(id));
  if (allOffline || !anyHealthy) {
    if (!anyHealthy)
      reasons.push(
        watched.length === 0
          ? 'no sensor has reported'
          : `no healthy ${movement.length > 0 ? 'movement ' : ''}sensor`,
      );
    return { state: 'no_data', reasons };
  }
  return { state: reasons.length > 0 ? 'degraded' : 'live', reasons };
}

/** "3 h 5 min", "42 min", "15 s": how far behind, for an operator. */
function ago(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
}
