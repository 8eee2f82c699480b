import { childLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import { safeHealth } from './agent-support.ts';
import type { Clock } from './clock.ts';
import { driverKey } from './config/load.ts';
import type { DriverEntry, GatewayConfig } from './config/schema.ts';
import { createDriverFor, type Driver, type DriverHealth, normalIntervalMs } from './drivers/index.ts';
import type { LocalSite } from './local.ts';
import type { ReadingQueue } from './queue/queue.ts';

export type DriverFactory = (entry: DriverEntry, clock: Clock, logger: Logger) => Promise<Driver>;

/**
 * The gateway's running drivers: started from the config into the local site's sinks, stopped,
 * and watched, so that a driver whose state changes (ok, degraded, down) becomes a `sensor_health`
 * event in the durable queue, and one that cannot start a `driver_failed` event.
 */
export class AgentDrivers {
  readonly #queue: ReadingQueue;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #create: DriverFactory;
  #drivers: Driver[] = [];
  readonly #states = new Map<string, DriverHealth['state']>();

  constructor(queue: ReadingQueue, clock: Clock, log: Logger, create: DriverFactory = createDriverFor) {
    this.#queue = queue;
    this.#clock = clock;
    this.#log = log;
    this.#create = create;
  }

  get list(): readonly Driver[] {
    return this.#drivers;
  }

  /** Starts every driver of `config`; one that fails is logged and evented, the others run. */
  async start(config: GatewayConfig, local: LocalSite): Promise<void> {
    const started: { driver: Driver; normalMs: number }[] = [];
    for (const entry of config.drivers) {
      try {
        const driver = await this.#create(entry, this.#clock, childLogger(this.#log, { part: 'driver' }));
        await driver.start(local.sinkFor(driverKey(entry)));
        started.push({ driver, normalMs: normalIntervalMs(entry) });
      } catch (err) {
        // One broken port must not keep the other sensors (or the siren) down; status shows it.
        this.#log.error({ driver: driverKey(entry), err: (err as Error).message }, 'driver failed to start');
        this.#queue.appendEvent({
          type: 'driver_failed',
          ts: this.#clock.now(),
          driver: driverKey(entry),
          error: (err as Error).message,
        });
      }
    }
    this.#drivers = started.map((s) => s.driver);
    local.setDrivers(started);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.#drivers.map((d) =>
        d
          .stop()
          .catch((err: Error) => this.#log.warn({ driver: d.id, err: err.message }, 'driver stop failed')),
      ),
    );
    this.#drivers = [];
  }

  /** Called every tick: a driver whose state changed since the last tick becomes an event. */
  watch(): void {
    for (const d of this.#drivers) {
      const h = safeHealth(d);
      const before = this.#states.get(d.id);
      if (before !== undefined && before !== h.state) {
        this.#queue.appendEvent({
          type: 'sensor_health',
          ts: this.#clock.now(),
          driver: d.id,
          state: h.state,
          previous: before,
          lastError: h.lastError,
        });
      }
      this.#states.set(d.id, h.state);
    }
  }
}
