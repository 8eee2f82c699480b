import { type Level, type Reading, validateReading } from '@slopeguard/core';
import type { Logger } from 'pino';
import type { Alarm } from './alarm.ts';
import type { Clock } from './clock.ts';
import type { GatewayConfig } from './config/schema.ts';
import { configuredSensors } from './config/sensors.ts';
import type { Driver } from './drivers/index.ts';
import { FutureGuard } from './future-guard.ts';
import type { ReadingQueue } from './queue/queue.ts';
import { createRules, type LevelChange, type LocalRules } from './rules/index.ts';
import type { SensorHealth } from './rules/types.ts';

const RULES_STATE = 'rules';

interface DriverSlot {
  driver: Driver;
  /** Shortest interval of the driver's config. */
  normalMs: number;
  /** Set by the set-sampling-interval command. */
  override?: number;
  /** What was last handed to setIntervalMs; undefined while the driver runs on its own config. */
  applied?: number;
}

/**
 * Local autonomy: every reading of this gateway's sensors is checked, queued and fed to the rule
 * engine; level changes switch the outputs, speed sampling up at `sampling.fastAtLevel`, and become
 * events in the durable queue, so they reach the control center whenever the link returns.
 */
export class LocalSite {
  readonly #queue: ReadingQueue;
  readonly #alarm: Alarm;
  readonly #clock: Clock;
  readonly #log: Logger;
  #rules: LocalRules;
  #config: GatewayConfig;
  #drivers: DriverSlot[] = [];
  #fast = false;
  #rejected = 0;
  #lastReject = '';
  #accepted = 0;
  #savedState = '';
  readonly #future: FutureGuard;

  constructor(config: GatewayConfig, queue: ReadingQueue, alarm: Alarm, clock: Clock, log: Logger) {
    this.#config = config;
    this.#queue = queue;
    this.#alarm = alarm;
    this.#clock = clock;
    this.#log = log;
    this.#future = new FutureGuard(config.clock.maxSkewMs, log);
    this.#rules = this.#makeRules(config, queue.loadState(RULES_STATE));
    alarm.setLocal(this.#rules.level);
  }

  get level(): Level {
    return this.#rules.level;
  }

  /** The engine's view of each sensor (stale, stuck, spiking...): part of the status. */
  health(): Record<string, SensorHealth> {
    try {
      return this.#rules.health();
    } catch {
      return {};
    }
  }

  /** `rejected` counts both failed checks and readings refused as too far ahead of the clock. */
  get counters(): { accepted: number; rejected: number } {
    return { accepted: this.#accepted, rejected: this.#rejected + this.#future.counts().total };
  }

  /** Readings refused as too far ahead of the gateway's clock: driver -> sensor -> count. */
  future(): Record<string, Record<string, number>> {
    return this.#future.counts().byDriver;
  }

  /**
   * The sink for one driver: readings stamped more than `clock.maxSkewMs` ahead of the gateway's
   * clock are refused there (counted per driver and sensor), the rest go to `sink`.
   */
  sinkFor(driver: string): (reading: Reading) => void {
    return (reading) => {
      const ts = (reading as { ts?: unknown } | null)?.ts;
      if (typeof ts === 'number' && reading && !this.#future.admit(driver, reading, this.#clock.now()))
        return;
      this.sink(reading);
    };
  }

  /** The sink handed to every driver. Never throws: a bad reading is counted and logged once per reason. */
  readonly sink = (reading: Reading): void => {
    const v = validateReading(reading);
    if (!v.ok) {
      this.#rejected++;
      const reason = v.errors.join('; ');
      if (reason !== this.#lastReject)
        this.#log.warn({ sensor: reading?.sensor, errors: v.errors }, 'reading rejected');
      this.#lastReject = reason;
      return;
    }
    this.#accepted++;
    this.#queue.append(v.value, this.#rules.level > 0);
    let changes: LevelChange[] = [];
    try {
      changes = this.#rules.push(v.value);
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message, sensor: v.value.sensor },
        'rule engine failed on a reading',
      );
    }
    this.#onChanges(changes);
  };

  setDrivers(drivers: { driver: Driver; normalMs: number }[]): void {
    this.#drivers = drivers.map((d) => ({ ...d }));
    this.#applySampling(true);
  }

  /** Called periodically with the gateway time: hold-downs expire, stale sensors count. */
  tick(): void {
    let changes: LevelChange[] = [];
    try {
      changes = this.#rules.tick(this.#clock.now());
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'rule engine tick failed');
    }
    this.#onChanges(changes);
    this.#saveState();
  }

  /** Saves the engine state when it changed (each save is an fsync; the SD card wears). */
  #saveState(): void {
    const json = JSON.stringify(this.#rules.state());
    if (json === this.#savedState) return;
    this.#queue.saveState(RULES_STATE, JSON.parse(json));
    this.#savedState = json;
  }

  release(operator: string): LevelChange[] {
    const changes = this.#rules.release(this.#clock.now(), operator);
    this.#onChanges(changes, operator);
    return changes;
  }

  /** Sets the normal sampling interval of one driver (or all); fast sampling still applies on top. */
  setNormalInterval(ms: number, driverId?: string): string[] {
    const hit = this.#drivers.filter((d) => driverId === undefined || d.driver.id === driverId);
    for (const d of hit) d.override = ms;
    this.#applySampling(true);
    return hit.map((d) => d.driver.id);
  }

  reconfigure(config: GatewayConfig): void {
    const key = (c: GatewayConfig) => JSON.stringify([c.engine, configuredSensors(c.drivers)]);
    const rulesChanged = key(config) !== key(this.#config);
    this.#config = config;
    this.#future.maxSkewMs = config.clock.maxSkewMs;
    if (rulesChanged) {
      this.#rules = this.#makeRules(config, undefined);
      this.#alarm.setLocal(this.#rules.level);
    }
  }

  #makeRules(config: GatewayConfig, saved: unknown): LocalRules {
    try {
      return createRules(config.site, config.engine, configuredSensors(config.drivers), saved);
    } catch (err) {
      this.#log.error(
        { err: (err as Error).message },
        'saved rule state unusable; starting the engine afresh',
      );
      return createRules(config.site, config.engine, configuredSensors(config.drivers), undefined);
    }
  }

  #onChanges(changes: LevelChange[], operator?: string): void {
    if (changes.length === 0) return;
    for (const c of changes) {
      this.#log.warn({ level: c.level, previous: c.previous, reasons: c.reasons }, 'local level changed');
      this.#queue.appendEvent({
        type: 'level',
        ts: c.ts,
        scope: 'local',
        level: c.level,
        previous: c.previous,
        reasons: c.reasons,
        ...(operator ? { operator } : {}),
      });
    }
    this.#alarm.setLocal(this.#rules.level);
    this.#saveState();
    this.#applySampling();
  }

  /**
   * Fast sampling at `fastAtLevel` and above. A driver keeps the intervals of its own config until
   * something changes them (a speed-up or a command); `force` re-applies after such a change.
   */
  #applySampling(force = false): void {
    const fast = this.#rules.level >= this.#config.sampling.fastAtLevel;
    if (fast === this.#fast && !force) return;
    this.#fast = fast;
    for (const d of this.#drivers) {
      const base = d.override ?? d.normalMs;
      const target = fast ? Math.min(base, this.#config.sampling.fastIntervalMs) : d.override;
      const ms = target ?? (d.applied !== undefined ? d.normalMs : undefined);
      if (ms === undefined || ms === d.applied) continue;
      try {
        d.driver.setIntervalMs(ms);
        d.applied = ms;
      } catch (err) {
        this.#log.error(
          { driver: d.driver.id, err: (err as Error).message },
          'cannot change sampling interval',
        );
      }
    }
    if (!force)
      this.#log.info(
        { fast, level: this.#rules.level },
        fast ? 'sampling sped up' : 'sampling back to normal',
      );
  }
}
