import type { Reading, SiteLevel } from '@slopeguard/core';
import {
  createEngine,
  type Engine,
  type LevelChange,
  type SiteConfig,
  siteConfig,
} from '@slopeguard/core/engine/index.ts';
import type { Logger } from 'pino';
import type { EngineStateStore } from './engine-state-store.ts';

/**
 * The official level of each site: the same pure engine the gateways run, fed with every reading
 * the control center receives. A site with a configuration file uses it; a site without one is
 * configured from the sensors it reports, with every rule at its default, and says so in the log.
 */
export interface SiteLevelsOptions {
  configs: ReadonlyMap<string, SiteConfig>;
  /** Configure unknown sites from their readings (the demo); otherwise their readings only display. */
  autoConfigure: boolean;
  states: EngineStateStore;
  publish: (site: string, level: SiteLevel) => void;
  /** Called once per site when its engine starts (restored: from saved state), to announce its level. */
  started?: (site: string, level: SiteLevel, restored: boolean) => void;
  logger: Logger;
}

interface SiteRun {
  engine: Engine;
  config: SiteConfig;
  auto: boolean;
  dirty: boolean;
}

/** Save state at most this often while nothing changes level (changes are saved at once). */
const SAVE_EVERY_MS = 60_000;

export class SiteLevels {
  readonly #o: SiteLevelsOptions;
  readonly #runs = new Map<string, SiteRun>();
  #lastSave = 0;

  constructor(options: SiteLevelsOptions) {
    this.#o = options;
  }

  #run(site: string, readings: readonly Reading[]): SiteRun | undefined {
    const existing = this.#runs.get(site);
    if (
      existing &&
      !(existing.auto && readings.some((r) => !existing.config.sensors.some((s) => s.id === r.sensor)))
    ) {
      return existing;
    }
    let config = this.#o.configs.get(site);
    let auto = false;
    if (!config) {
      if (!this.#o.autoConfigure) return undefined;
      // Known sensors plus the new ones; a new sensor restarts the engine with a wider config.
      const sensors = new Map(
        (existing?.config.sensors ?? []).map((s) => [s.id, { id: s.id, kind: s.kind }]),
      );
      for (const r of readings)
        if (!sensors.has(r.sensor)) sensors.set(r.sensor, { id: r.sensor, kind: r.kind });
      config = siteConfig({ id: site, sensors: [...sensors.values()] });
      auto = true;
      this.#o.logger.info(
        { site, sensors: [...sensors.keys()] },
        'site configured from its readings, default rules',
      );
    }
    const saved = existing ? existing.engine.state() : this.#o.states.load(site);
    let engine: Engine;
    try {
      engine = createEngine(config, saved);
    } catch (err) {
      // A saved state that no longer fits the configuration (sensors changed): start fresh, loudly.
      this.#o.logger.warn(
        { site, err: (err as Error).message },
        'saved engine state not usable; starting fresh',
      );
      engine = createEngine(config);
    }
    const run = { engine, config, auto, dirty: false };
    this.#runs.set(site, run);
    if (!existing) {
      const restored = saved !== undefined;
      this.#o.started?.(site, { level: engine.level, ts: Date.now(), reasons: [] }, restored);
    }
    return run;
  }

  /**
   * Starts now, from their saved state, the engines of the configured sites that have one. Without
   * it an engine starts with its site's first reading after a restart, and until then the control
   * center would not know the level it had raised (an alert observed in between would be cleared).
   */
  resume(): void {
    for (const site of this.#o.configs.keys())
      if (!this.#runs.has(site) && this.#o.states.load(site) !== undefined) this.#run(site, []);
  }

  onReadings(site: string, readings: readonly Reading[]): void {
    const run = this.#run(site, readings);
    if (!run) return;
    // Readings of one message are in time order per sensor; across gateways the engine decides.
    const sorted = [...readings].sort((a, b) => a.ts - b.ts);
    for (const r of sorted) this.#apply(site, run, run.engine.push(r));
    run.dirty = true;
  }

  /** Advances every site's clock (stale sensors, hold-down expiry) and saves state now and then. */
  tick(now: number): void {
    for (const [site, run] of this.#runs) this.#apply(site, run, run.engine.tick(now));
    if (now - this.#lastSave >= SAVE_EVERY_MS) this.saveAll(now);
  }

  /** An operator's explicit release, the only way out of level 4. */
  release(site: string, ts: number, operator: string): LevelChange[] {
    const run = this.#runs.get(site);
    if (!run) return [];
    const changes = run.engine.release(ts, operator);
    this.#apply(site, run, changes);
    return changes;
  }

  level(site: string): number | undefined {
    return this.#runs.get(site)?.engine.level;
  }

  config(site: string): SiteConfig | undefined {
    return this.#runs.get(site)?.config;
  }

  engine(site: string): Engine | undefined {
    return this.#runs.get(site)?.engine;
  }

  saveAll(now: number): void {
    this.#lastSave = now;
    for (const [site, run] of this.#runs) {
      if (!run.dirty) continue;
      this.#o.states.save(site, run.engine.state());
      run.dirty = false;
    }
  }

  /**
   * Saves and publishes every change of one engine call, in order. One call can move a site more
   * than one step: a held reading released with the one that confirms it (0 -> 1 -> 2 in one
   * message), or several hold-down steps in one tick after a silence. Publishing only the last
   * skipped the steps between, on the level topic and in the alert's history.
   */
  #apply(site: string, run: SiteRun, changes: readonly LevelChange[]): void {
    if (changes.length === 0) return;
    this.#o.states.save(site, run.engine.state());
    for (const c of changes) {
      this.#o.logger.warn(
        { site, level: c.level, previous: c.previous, reasons: c.reasons },
        'site level changed',
      );
      this.#o.publish(site, { level: c.level, ts: c.ts, reasons: c.reasons });
    }
  }
}
