import type { SensorKind } from '@slopeguard/core';
import type { LiveView } from './live-view.ts';
import type { SiteLevels } from './site-levels.ts';
import { type DataState, dataStateOf } from './site-state.ts';

export interface SiteData {
  state: DataState;
  reasons: string[];
  /** When the site entered this state (control center clock). */
  since: number;
}

export interface SiteMonitorOptions {
  view: LiveView;
  levels: SiteLevels;
  gatewaySilenceMs: number;
  fallbackStaleMs: number;
  /** Called when a site's data state or its reasons change. */
  onChange: (site: string, data: SiteData) => void;
}

/**
 * Keeps each site's data state (site-state.ts) up to date from the engine's per-sensor health and
 * the gateways' status, re-evaluated on every message and every tick of the control center's clock.
 */
export class SiteMonitor {
  readonly #o: SiteMonitorOptions;
  readonly #data = new Map<string, SiteData>();

  constructor(options: SiteMonitorOptions) {
    this.#o = options;
  }

  evaluate(site: string, now: number): SiteData | undefined {
    const summary = this.#o.view.summary(site);
    if (!summary) return undefined;
    const engine = this.#o.levels.engine(site);
    const kinds = new Map<string, SensorKind>(summary.sensors.map((s) => [s.sensor, s.kind]));
    const config = this.#o.levels.config(site);
    for (const s of config?.sensors ?? []) kinds.set(s.id, s.kind);
    const r = dataStateOf({
      now,
      gateways: summary.gateways,
      kinds,
      sensors: summary.sensors,
      gatewaySilenceMs: this.#o.gatewaySilenceMs,
      fallbackStaleMs: this.#o.fallbackStaleMs,
      ...(engine ? { health: engine.health() } : {}),
      ...(config ? { staleIntervals: config.health.staleIntervals } : {}),
    });
    const prev = this.#data.get(site);
    if (prev && prev.state === r.state && prev.reasons.join('\n') === r.reasons.join('\n')) return prev;
    const data: SiteData = { ...r, since: prev && prev.state === r.state ? prev.since : now };
    this.#data.set(site, data);
    this.#o.view.applyData(site, data);
    this.#o.onChange(site, data);
    return data;
  }

  evaluateAll(now: number): void {
    for (const s of this.#o.view.list()) this.evaluate(s.id, now);
  }

  get(site: string): SiteData | undefined {
    return this.#data.get(site);
  }

  /** Everything the engine knows about a site, for the API and the dashboard. */
  detail(site: string) {
    const engine = this.#o.levels.engine(site);
    const summary = this.#o.view.summary(site);
    if (!summary) return undefined;
    return {
      id: site,
      level: summary.level,
      data: this.#data.get(site) ?? null,
      engine: engine
        ? {
            level: engine.level,
            sensors: engine.health(),
            swi: engine.swi(),
            rain: engine.rain(),
            forecasts: engine.forecasts(),
            counters: engine.counters(),
          }
        : null,
    };
  }
}
