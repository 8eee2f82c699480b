import {
  type GatewayChannel,
  gatewayTopic,
  type Level,
  type Status,
  siteTopic,
  type Topic,
} from '@slopeguard/core';
import { childLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import { commandHandlers } from './agent-commands.ts';
import { AgentDrivers, type DriverFactory } from './agent-drivers.ts';
import { AgentInbox } from './agent-inbox.ts';
import { planReload, reloadResult } from './agent-reload.ts';
import {
  noticeSites,
  openQueue,
  safeHealth,
  signboardConfigs,
  withFutureCounts,
  withTimeout,
} from './agent-support.ts';
import { Alarm } from './alarm.ts';
import type { Clock } from './clock.ts';
import { CLOCK_TOPIC, ClockCheck } from './clock-check.ts';
import { CommandGuard, CommandLedger } from './commands.ts';
import type { GatewayConfig } from './config/schema.ts';
import type { DriverHealth } from './drivers/index.ts';
import { Forwarder } from './forwarder.ts';
import { buildStatus } from './health.ts';
import { LocalSite } from './local.ts';
import { createOutput } from './outputs/index.ts';
import { Signboard } from './outputs/signboard.ts';
import type { ReadingQueue } from './queue/queue.ts';
import { Uplink } from './uplink.ts';

export interface AgentOptions {
  config: GatewayConfig;
  /** The file the config came from; `reload-config` reads it again. */
  configPath?: string;
  clock: Clock;
  logger: Logger;
  version: string;
  /**
   * Builds the driver for a config entry; default `createDriverFor`. The demo plugs its simulated
   * sensors in here, as a test plugs in a mock binding: everything after the driver is the field's.
   */
  createDriver?: DriverFactory;
}

/** How often (real time) the rule engine ticks and its state is saved. */
const TICK_MS = 1000;

/**
 * The gateway agent: drivers -> LocalSite (checks, queue, rules, outputs) -> Forwarder -> Uplink.
 * This file is the wiring and the lifecycle (start, stop, reload, status); the parts it wires are
 * one file each: agent-drivers.ts (drivers and their health events), agent-inbox.ts (what arrives
 * from the broker), agent-commands.ts (the command handlers), agent-reload.ts (what a reload may
 * change). One instance per process; `stop()` leaves the queue consistent, and so does kill -9.
 */
export class EdgeAgent {
  readonly #opts: AgentOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #queue: ReadingQueue;
  readonly #drivers: AgentDrivers;
  readonly #inbox: AgentInbox;
  readonly #clockCheck: ClockCheck;
  readonly #startedAt = Date.now();
  #config: GatewayConfig;
  #alarm: Alarm;
  #signboards: Signboard[];
  #local: LocalSite;
  #uplink: Uplink | undefined;
  #forwarder: Forwarder;
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;
  #connectWaiters: Array<() => void> = [];

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.#clock = opts.clock;
    const { site, gateway } = opts.config;
    this.#log = childLogger(opts.logger, { component: 'edge', site, gateway });
    this.#queue = openQueue(opts.config, this.#log);
    this.#drivers = new AgentDrivers(this.#queue, this.#clock, this.#log, opts.createDriver);
    this.#alarm = this.#makeAlarm(opts.config);
    this.#signboards = this.#makeSignboards(opts.config);
    this.#local = this.#makeLocal(opts.config);
    this.#forwarder = this.#makeForwarder(opts.config);
    this.#clockCheck = new ClockCheck(opts.config.clock.maxSkewMs, this.#log, (offsetMs, ok) =>
      this.#queue.appendEvent({ type: 'clock_fault', ts: this.#clock.now(), offsetMs, ok }),
    );
    const handlers = commandHandlers({
      config: () => this.#config,
      local: () => this.#local,
      alarm: () => this.#alarm,
      queue: this.#queue,
      clock: this.#clock,
      status: () => this.status(),
      publishStatus: () => this.publishStatus(),
      reload: () => this.reload(),
    });
    this.#inbox = new AgentInbox({
      log: this.#log,
      now: () => this.#clock.now(),
      clockCheck: this.#clockCheck,
      // Command ids already run live in the queue's meta table: at most once, across restarts.
      commandGuard: new CommandGuard(new CommandLedger(this.#queue), this.#log, () => this.#clock.now()),
      alarm: () => this.#alarm,
      signboards: () => this.#signboards,
      handlers: () => handlers,
      ack: async (ack) => {
        try {
          await this.#uplink?.publish(this.#topic('cmd/ack'), ack);
        } catch (err) {
          this.#log.warn({ err: (err as Error).message, id: ack.id }, 'ack not published');
        }
      },
    });
  }

  get queue(): ReadingQueue {
    return this.#queue;
  }

  get forwarder(): Forwarder {
    return this.#forwarder;
  }

  get level(): { local: Level; effective: Level } {
    return { local: this.#local.level, effective: this.#alarm.effective() };
  }

  /** Site notices refused (malformed, over size) since start. */
  get noticesRefused(): number {
    return this.#inbox.noticesRefused;
  }

  get connected(): boolean {
    return this.#uplink?.connected ?? false;
  }

  /** Resolves once the uplink is connected (at once if it is). */
  whenConnected(): Promise<void> {
    if (this.#uplink?.connected) return Promise.resolve();
    return new Promise((resolve) => this.#connectWaiters.push(resolve));
  }

  async start(): Promise<void> {
    this.#queue.appendEvent({ type: 'started', ts: this.#clock.now(), version: this.#opts.version });
    await this.#drivers.start(this.#config, this.#local);
    this.#forwarder.start();
    this.#uplink = this.#makeUplink(this.#config);
    this.#timers.push(
      setInterval(() => this.#tick(), TICK_MS),
      setInterval(() => void this.publishStatus(), this.#config.status.intervalMs),
    );
    this.#log.info(
      { version: this.#opts.version, drivers: this.#drivers.list.map((d) => d.id) },
      'gateway started',
    );
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#drivers.stop();
    this.#local.tick();
    if (this.#uplink?.connected) {
      const offline = { state: 'offline' as const, ts: this.#clock.now() };
      await withTimeout(this.#uplink.publish(this.#topic('status'), offline), 2000).catch(() => {});
    }
    this.#forwarder.stop();
    await withTimeout(this.#uplink?.end() ?? Promise.resolve(), 3000).catch(() => this.#uplink?.kill());
    await this.#alarm.close();
    await Promise.all(this.#signboards.map((s) => s.close()));
    this.#queue.close();
    this.#log.info('gateway stopped');
  }

  status(): Status {
    const sensors: Record<string, DriverHealth> = {};
    const future = this.#local.future();
    const clock = this.#clockCheck.state;
    for (const d of this.#drivers.list) sensors[d.id] = withFutureCounts(safeHealth(d), future[d.id]);
    const official = this.#alarm.official;
    return buildStatus({
      ts: this.#clock.now(),
      version: this.#opts.version,
      startedAt: this.#startedAt,
      dataDir: this.#config.dataDir,
      queue: this.#queue.stats(),
      sensors,
      level: {
        local: this.#local.level,
        official: official ?? null,
        officialFresh: this.#alarm.officialFresh(),
        effective: this.#alarm.effective(),
      },
      outputs: this.#alarm.states(),
      uplink: { sentReadings: this.#forwarder.sent },
      sensorHealth: this.#local.health(),
      readings: this.#local.counters,
      ...(clock ? { clock } : {}),
    });
  }

  async publishStatus(): Promise<void> {
    if (!this.#uplink?.connected) return;
    try {
      await this.#uplink.publish(this.#topic('status'), this.status());
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'status not published');
    }
  }

  /** Reads the config file again and applies it; errors leave the running config untouched. */
  async reload(): Promise<{ applied: string[] }> {
    const plan = planReload(this.#opts.configPath, this.#config);
    const { next } = plan;
    await this.#drivers.stop();
    if (plan.outputs) {
      await this.#alarm.close();
      const official = this.#alarm.official;
      this.#alarm = this.#makeAlarm(next);
      if (official !== undefined) this.#alarm.setOfficial(official);
      this.#alarm.setLink(this.#uplink?.connected ?? false);
      this.#local = this.#makeLocal(next);
      await Promise.all(this.#signboards.map((s) => s.close()));
      this.#signboards = this.#makeSignboards(next);
    }
    this.#local.reconfigure(next);
    this.#clockCheck.maxSkewMs = next.clock.maxSkewMs;
    this.#config = next;
    await this.#drivers.start(next, this.#local);
    if (plan.uplink) {
      await this.#uplink?.kill();
      this.#forwarder.stop();
      this.#forwarder = this.#makeForwarder(next);
      this.#forwarder.start();
      this.#uplink = this.#makeUplink(next);
    }
    const result = reloadResult(plan);
    this.#log.info(result, 'config reloaded');
    return result;
  }

  #makeAlarm(config: GatewayConfig): Alarm {
    const outputs = config.outputs.flatMap((o) =>
      o.kind === 'signboard'
        ? []
        : [createOutput(o, this.#clock, childLogger(this.#log, { part: 'output' }))],
    );
    return new Alarm(outputs, this.#clock, childLogger(this.#log, { part: 'alarm' }), config.official);
  }

  #makeSignboards(config: GatewayConfig): Signboard[] {
    return signboardConfigs(config).map(
      (c) => new Signboard(c, childLogger(this.#log, { part: 'signboard' })),
    );
  }

  #makeLocal(config: GatewayConfig): LocalSite {
    return new LocalSite(
      config,
      this.#queue,
      this.#alarm,
      this.#clock,
      childLogger(this.#log, { part: 'local' }),
    );
  }

  #makeForwarder(config: GatewayConfig): Forwarder {
    const uplink = () => this.#uplink;
    const publisher = {
      get connected() {
        return uplink()?.connected ?? false;
      },
      publishEncoded: (topic: Topic<'telemetry' | 'event'>, payload: string) => {
        const u = uplink();
        return u ? u.publishEncoded(topic, payload) : Promise.reject(new Error('no uplink'));
      },
    };
    return new Forwarder(
      this.#queue,
      publisher,
      {
        telemetryTopic: this.#topic('telemetry'),
        eventTopic: this.#topic('event'),
        commitIntervalMs: config.queue.commitIntervalMs,
        batchMaxReadings: config.uplink.batchMaxReadings,
        batchIntervalMs: config.uplink.batchIntervalMs,
        backlogRatePerS: config.uplink.backlogRatePerS,
        maxInflight: config.uplink.maxInflight,
        policy: config.queue.policy,
        now: () => this.#clock.now(),
      },
      childLogger(this.#log, { part: 'forwarder' }),
    );
  }

  #makeUplink(config: GatewayConfig): Uplink {
    const subs = [
      this.#topic('cmd'),
      CLOCK_TOPIC,
      ...(config.official.follow ? [siteTopic(config.site, 'level')] : []),
      ...noticeSites(config).map((site) => siteTopic(site, 'notice')),
    ];
    const will = {
      topic: this.#topic('status'),
      payload: () => ({ state: 'offline' as const, ts: this.#clock.now() }),
    };
    return new Uplink(
      config.uplink,
      will,
      subs,
      {
        onConnect: () => {
          this.#alarm.setLink(true);
          this.#forwarder.onConnect();
          void this.publishStatus();
          for (const resolve of this.#connectWaiters.splice(0)) resolve();
        },
        onClose: () => this.#alarm.setLink(false),
        onMessage: (topic, payload, retain) => void this.#inbox.onMessage(topic, payload, retain),
      },
      childLogger(this.#log, { part: 'uplink' }),
    );
  }

  #tick(): void {
    this.#local.tick();
    this.#alarm.apply('tick');
    this.#drivers.watch();
  }

  #topic<C extends GatewayChannel>(channel: C): Topic<C> {
    return gatewayTopic(this.#config.site, this.#config.gateway, channel);
  }
}
