import {
  type CommandAck,
  type CommandResult,
  decodePayload,
  type GatewayChannel,
  gatewayTopic,
  type Level,
  parseTopic,
  type Status,
  siteTopic,
  type Topic,
} from '@slopeguard/core';
import type { Logger } from 'pino';
import { changed, commandId, openQueue, safeHealth, withFutureCounts, withTimeout } from './agent-support.ts';
import { Alarm } from './alarm.ts';
import type { Clock } from './clock.ts';
import { CLOCK_TOPIC, ClockCheck } from './clock-check.ts';
import {
  CommandGuard,
  type CommandHandler,
  CommandLedger,
  CommandRefused,
  intArg,
  runCommand,
  stringArg,
} from './commands.ts';
import { driverKey, loadConfigFile } from './config/load.ts';
import type { DriverEntry, GatewayConfig } from './config/schema.ts';
import { createDriverFor, type Driver, type DriverHealth, normalIntervalMs } from './drivers/index.ts';
import { Forwarder } from './forwarder.ts';
import { buildStatus } from './health.ts';
import { LocalSite } from './local.ts';
import { createOutput } from './outputs/index.ts';
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
  createDriver?: (entry: DriverEntry, clock: Clock, logger: Logger) => Promise<Driver>;
}

/** How often (real time) the rule engine ticks and its state is saved. */
const TICK_MS = 1000;

/**
 * The gateway agent: drivers -> LocalSite (checks, queue, rules, outputs) -> Forwarder -> Uplink.
 * One instance per process; `stop()` leaves the queue consistent, and so does kill -9 at any moment.
 */
export class EdgeAgent {
  readonly #opts: AgentOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #queue: ReadingQueue;
  readonly #commandGuard: CommandGuard;
  readonly #startedAt = Date.now();
  #config: GatewayConfig;
  #alarm: Alarm;
  #local: LocalSite;
  #uplink: Uplink | undefined;
  #forwarder: Forwarder;
  #drivers: Driver[] = [];
  #driverStates = new Map<string, DriverHealth['state']>();
  #timers: NodeJS.Timeout[] = [];
  #stopped = false;
  #connectWaiters: Array<() => void> = [];
  readonly #clockCheck: ClockCheck;

  constructor(opts: AgentOptions) {
    this.#opts = opts;
    this.#config = opts.config;
    this.#clock = opts.clock;
    const { site, gateway } = opts.config;
    this.#log = opts.logger.child({ component: 'edge', site, gateway });
    this.#queue = openQueue(opts.config, this.#log);
    // Command ids already run live in the queue's meta table: at most once, across restarts.
    this.#commandGuard = new CommandGuard(new CommandLedger(this.#queue), this.#log, () => this.#clock.now());
    this.#alarm = this.#makeAlarm(opts.config);
    this.#local = new LocalSite(
      opts.config,
      this.#queue,
      this.#alarm,
      this.#clock,
      this.#log.child({ part: 'local' }),
    );
    this.#forwarder = this.#makeForwarder(opts.config);
    this.#clockCheck = new ClockCheck(opts.config.clock.maxSkewMs, this.#log, (offsetMs, ok) =>
      this.#queue.appendEvent({ type: 'clock_fault', ts: this.#clock.now(), offsetMs, ok }),
    );
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

  /** Resolves once the uplink is connected (at once if it is). */
  whenConnected(): Promise<void> {
    if (this.#uplink?.connected) return Promise.resolve();
    return new Promise((resolve) => this.#connectWaiters.push(resolve));
  }

  async start(): Promise<void> {
    this.#queue.appendEvent({ type: 'started', ts: this.#clock.now(), version: this.#opts.version });
    await this.#startDrivers();
    this.#forwarder.start();
    this.#uplink = this.#makeUplink(this.#config);
    this.#timers.push(
      setInterval(() => this.#tick(), TICK_MS),
      setInterval(() => void this.publishStatus(), this.#config.status.intervalMs),
    );
    this.#log.info(
      { version: this.#opts.version, drivers: this.#drivers.map((d) => d.id) },
      'gateway started',
    );
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const t of this.#timers) clearInterval(t);
    await this.#stopDrivers();
    this.#local.tick();
    if (this.#uplink?.connected) {
      const offline = { state: 'offline' as const, ts: this.#clock.now() };
      await withTimeout(this.#uplink.publish(this.#topic('status'), offline), 2000).catch(() => {});
    }
    this.#forwarder.stop();
    await withTimeout(this.#uplink?.end() ?? Promise.resolve(), 3000).catch(() => this.#uplink?.kill());
    await this.#alarm.close();
    this.#queue.close();
    this.#log.info('gateway stopped');
  }

  status(): Status {
    const sensors: Record<string, DriverHealth> = {};
    const future = this.#local.future();
    const clock = this.#clockCheck.state;
    for (const d of this.#drivers) sensors[d.id] = withFutureCounts(safeHealth(d), future[d.id]);
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
    if (!this.#opts.configPath) throw new CommandRefused('no config file to reload');
    const r = loadConfigFile(this.#opts.configPath);
    if (!r.ok) throw new CommandRefused(`config refused: ${r.errors.join('; ')}`);
    const next = r.config;
    const prev = this.#config;
    const applied: string[] = [];
    if (next.site !== this.#config.site || next.gateway !== this.#config.gateway) {
      throw new CommandRefused('site and gateway cannot change by reload; restart the service');
    }
    if (changed(next, prev, 'queue')) {
      throw new CommandRefused('queue settings change only at restart');
    }
    await this.#stopDrivers();
    if (changed(next, prev, 'outputs') || changed(next, prev, 'official')) {
      await this.#alarm.close();
      const official = this.#alarm.official;
      this.#alarm = this.#makeAlarm(next);
      if (official !== undefined) this.#alarm.setOfficial(official);
      this.#alarm.setLink(this.#uplink?.connected ?? false);
      this.#local = new LocalSite(
        next,
        this.#queue,
        this.#alarm,
        this.#clock,
        this.#log.child({ part: 'local' }),
      );
      applied.push('outputs');
    }
    this.#local.reconfigure(next);
    this.#clockCheck.maxSkewMs = next.clock.maxSkewMs;
    this.#config = next;
    await this.#startDrivers();
    applied.push('drivers', 'rules', 'sampling');
    if (changed(next, prev, 'uplink')) {
      await this.#uplink?.kill();
      this.#forwarder.stop();
      this.#forwarder = this.#makeForwarder(next);
      this.#forwarder.start();
      this.#uplink = this.#makeUplink(next);
      applied.push('uplink');
    }
    this.#log.info({ applied }, 'config reloaded');
    return { applied };
  }

  #makeAlarm(config: GatewayConfig): Alarm {
    const outputs = config.outputs.map((o) =>
      createOutput(o, this.#clock, this.#log.child({ part: 'output' })),
    );
    return new Alarm(outputs, this.#clock, this.#log.child({ part: 'alarm' }), config.official);
  }

  #makeForwarder(config: GatewayConfig): Forwarder {
    const publisher = {
      get connected() {
        return uplinkRef()?.connected ?? false;
      },
      publishEncoded: (topic: Topic<'telemetry' | 'event'>, payload: string) => {
        const u = this.#uplink;
        return u ? u.publishEncoded(topic, payload) : Promise.reject(new Error('no uplink'));
      },
    };
    const uplinkRef = () => this.#uplink;
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
      this.#log.child({ part: 'forwarder' }),
    );
  }

  #makeUplink(config: GatewayConfig): Uplink {
    const subs = [
      this.#topic('cmd'),
      CLOCK_TOPIC,
      ...(config.official.follow ? [siteTopic(config.site, 'level')] : []),
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
        onMessage: (topic, payload, retain) => void this.#onMessage(topic, payload, retain),
      },
      this.#log.child({ part: 'uplink' }),
    );
  }

  async #startDrivers(): Promise<void> {
    const started: { driver: Driver; normalMs: number }[] = [];
    for (const entry of this.#config.drivers) {
      try {
        const create = this.#opts.createDriver ?? createDriverFor;
        const driver = await create(entry, this.#clock, this.#log.child({ part: 'driver' }));
        await driver.start(this.#local.sinkFor(driverKey(entry)));
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
    this.#local.setDrivers(started);
  }

  async #stopDrivers(): Promise<void> {
    await Promise.all(
      this.#drivers.map((d) =>
        d
          .stop()
          .catch((err: Error) => this.#log.warn({ driver: d.id, err: err.message }, 'driver stop failed')),
      ),
    );
    this.#drivers = [];
  }

  #tick(): void {
    this.#local.tick();
    this.#alarm.apply('tick');
    for (const d of this.#drivers) {
      const h = safeHealth(d);
      const before = this.#driverStates.get(d.id);
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
      this.#driverStates.set(d.id, h.state);
    }
  }

  async #onMessage(topic: string, payload: Buffer, retain: boolean): Promise<void> {
    if (topic === CLOCK_TOPIC) return this.#clockCheck.onTick(payload, this.#clock.now());
    const t = parseTopic(topic);
    if (t?.channel === 'level') {
      const d = decodePayload('level', payload);
      if (!d.ok) return void this.#log.warn({ errors: d.errors }, 'official level refused');
      const level = d.value.level;
      if (level !== this.#alarm.official) this.#log.info({ level }, 'official level');
      this.#alarm.setOfficial(level);
      return;
    }
    if (t?.channel !== 'cmd') return;
    if (this.#commandGuard.retained(retain, commandId(payload))) return;
    const d = decodePayload('cmd', payload);
    if (!d.ok) {
      this.#log.warn({ errors: d.errors }, 'command refused');
      const id = commandId(payload);
      if (id) await this.#ack({ id, ok: false, error: `invalid command: ${d.errors.join('; ')}` });
      return;
    }
    const cmd = d.value;
    if (!this.#commandGuard.admit(cmd.id)) return;
    const outcome = await runCommand(cmd, this.#handlers());
    this.#log.info({ command: cmd.name, id: cmd.id, ok: outcome.ok, error: outcome.error }, 'command');
    await this.#ack({ id: cmd.id, ...outcome });
  }

  async #ack(ack: { id: string; ok: boolean; error?: string; result?: CommandResult }): Promise<void> {
    const body: CommandAck = {
      id: ack.id,
      ok: ack.ok,
      ts: this.#clock.now(),
      ...(ack.error ? { error: ack.error } : {}),
      ...(ack.result !== undefined ? { result: ack.result } : {}),
    };
    try {
      await this.#uplink?.publish(this.#topic('cmd/ack'), body);
    } catch (err) {
      this.#log.warn({ err: (err as Error).message, id: ack.id }, 'ack not published');
    }
  }

  #handlers(): Record<string, CommandHandler> {
    return {
      'set-sampling-interval': (args) => {
        const ms = intArg(args, 'ms', 100, 86_400_000);
        const driver = stringArg(args, 'driver');
        const drivers = this.#local.setNormalInterval(ms, driver);
        if (drivers.length === 0) throw new CommandRefused(`no driver ${JSON.stringify(driver)}`);
        return { drivers, ms };
      },
      'test-siren': (args) => {
        const seconds = intArg(args, 'seconds', 1, this.#config.testSirenMaxS, 5);
        const outputs = this.#alarm.test(seconds, stringArg(args, 'output'));
        if (outputs.length === 0) throw new CommandRefused('no such output');
        this.#queue.appendEvent({ type: 'output_test', ts: this.#clock.now(), outputs, seconds });
        return { outputs, seconds };
      },
      'reload-config': () => this.reload(),
      'health-report': async () => {
        const status = this.status();
        await this.publishStatus();
        return status;
      },
      'release-local': (args) => {
        const operator = stringArg(args, 'operator');
        if (!operator) throw new CommandRefused('args.operator is required');
        return { changes: this.#local.release(operator).length, level: this.#local.level };
      },
    };
  }

  #topic<C extends GatewayChannel>(channel: C): Topic<C> {
    return gatewayTopic(this.#config.site, this.#config.gateway, channel);
  }
}
