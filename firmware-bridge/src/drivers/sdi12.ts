import { childLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import type { Sdi12DriverConfig, Sdi12Sensor } from '../config.ts';
import { driverId, serialSettings } from '../config.ts';
import { rainCounter, SensorConverter } from '../convert.ts';
import type { Driver, DriverHealth, ReadingSink } from '../driver.ts';
import { reasonOf } from '../errors.ts';
import { HealthTracker } from '../health.ts';
import { Sdi12Master } from '../sdi12/master.ts';
import { SerialLink } from '../serial/link.ts';
import { deliver } from './deliver.ts';
import type { DriverContext } from './modbus.ts';
import { clampInterval, Poller } from './poller.ts';

/** Polls SDI-12 sensors (rain gauges, piezometers, soil-moisture probes) through a transparent adapter. */
export class Sdi12Driver implements Driver {
  readonly id: string;
  private readonly ctx: DriverContext;
  private readonly log: Logger;
  private readonly tracker: HealthTracker;
  private readonly link: SerialLink;
  private readonly master: Sdi12Master;
  private readonly poller: Poller;
  private readonly converters = new Map<string, SensorConverter>();
  private sink: ReadingSink = () => {};
  private stopping = false;
  private wakePause: () => void = () => {};

  constructor(cfg: Sdi12DriverConfig, ctx: DriverContext) {
    this.ctx = ctx;
    this.id = driverId(cfg);
    this.log = childLogger(ctx.logger, { driver: this.id });
    this.tracker = new HealthTracker(
      this.log,
      ctx.now,
      cfg.sensors.map((s) => s.id),
    );
    this.master = new Sdi12Master({
      transport: { write: (b) => this.link.write(b) },
      timeoutMs: cfg.timeoutMs ?? 1000,
      retries: cfg.retries ?? 3,
    });
    this.link = new SerialLink({
      settings: serialSettings(cfg),
      binding: ctx.binding,
      logger: this.log,
      health: this.tracker,
      onData: (chunk) => this.master.receive(chunk),
    });
    for (const s of cfg.sensors) {
      this.converters.set(
        s.id,
        new SensorConverter({
          sensor: s.id,
          kind: s.kind,
          calibration: s.calibration,
          range: s.range,
          counter: rainCounter(s.kind, s.fields, s.counter),
        }),
      );
    }
    const interval = cfg.intervalMs ?? 60_000;
    const sensorIds = new Set(cfg.sensors.map((s) => s.id));
    this.poller = new Poller(
      cfg.concurrent ? this.groups(cfg.sensors, interval) : this.oneByOne(cfg.sensors, interval),
      (id, err) =>
        this.tracker.error(reasonOf(err), (err as Error).message, sensorIds.has(id) ? id : undefined),
    );
  }

  private oneByOne(sensors: readonly Sdi12Sensor[], interval: number) {
    return sensors.map((s) => ({ id: s.id, intervalMs: s.intervalMs ?? interval, run: () => this.poll(s) }));
  }

  /** Concurrent mode: the sensors sharing an interval are measured together, one poll task each group. */
  private groups(sensors: readonly Sdi12Sensor[], interval: number) {
    const byInterval = new Map<number, Sdi12Sensor[]>();
    for (const s of sensors) {
      const ms = s.intervalMs ?? interval;
      byInterval.set(ms, [...(byInterval.get(ms) ?? []), s]);
    }
    return [...byInterval].map(([ms, group]) => ({
      id: `concurrent:${ms}`,
      intervalMs: ms,
      run: () => this.pollTogether(group),
    }));
  }

  async start(sink: ReadingSink): Promise<void> {
    this.sink = sink;
    this.stopping = false;
    this.master.reopen();
    await this.link.start();
    this.poller.start();
  }

  private async poll(sensor: Sdi12Sensor): Promise<void> {
    if (!this.link.isOpen) return;
    let values: number[];
    try {
      const r = await this.master.measure(sensor.address, sensor.crc ?? false, () =>
        this.tracker.count('retry', sensor.id),
      );
      this.tracker.ok(sensor.id, r.latencyMs);
      values = r.values;
    } catch (err) {
      if (this.stopping || !this.link.isOpen) return;
      this.tracker.error(reasonOf(err), (err as Error).message, sensor.id);
      return;
    }
    this.emit(sensor, values);
  }

  /**
   * SDI-12 concurrent measurement: aC! (aCC!) to every sensor of the group, one after the other, each
   * answering at once with its time and count; then, as each one's time runs out, aD0!... to fetch its
   * values. A bus of sensors that take 10 s each is measured in about 10 s, not 10 s per sensor. A
   * concurrent sensor sends no service request, so the master waits the announced time.
   */
  private async pollTogether(group: readonly Sdi12Sensor[]): Promise<void> {
    if (!this.link.isOpen) return;
    const started: { sensor: Sdi12Sensor; count: number; readyAt: number; t0: number }[] = [];
    for (const sensor of group) {
      const t0 = performance.now();
      try {
        const m = await this.master.startConcurrent(sensor.address, sensor.crc ?? false, () =>
          this.tracker.count('retry', sensor.id),
        );
        started.push({ sensor, count: m.count, readyAt: performance.now() + m.seconds * 1000, t0 });
      } catch (err) {
        if (this.stopping || !this.link.isOpen) return;
        this.tracker.error(reasonOf(err), (err as Error).message, sensor.id);
      }
    }
    started.sort((a, b) => a.readyAt - b.readyAt);
    for (const s of started) {
      await this.pause(s.readyAt - performance.now());
      if (this.stopping || !this.link.isOpen) return;
      const id = s.sensor.id;
      let values: number[];
      try {
        values = await this.master.collect(s.sensor.address, s.sensor.crc ?? false, s.count, () =>
          this.tracker.count('retry', id),
        );
      } catch (err) {
        if (this.stopping || !this.link.isOpen) return;
        this.tracker.error(reasonOf(err), (err as Error).message, id);
        continue;
      }
      this.tracker.ok(id, Math.round(performance.now() - s.t0));
      this.emit(s.sensor, values);
    }
  }

  /** Waits `ms`, or less if the driver stops meanwhile. */
  private pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakePause = done;
    });
  }

  private emit(sensor: Sdi12Sensor, values: number[]): void {
    if (values.length < sensor.fields.length) {
      this.tracker.error(
        'bad_response',
        `expected ${sensor.fields.length} values, got ${values.length}`,
        sensor.id,
      );
      return;
    }
    const device: Record<string, number> = {};
    sensor.fields.forEach((f, i) => {
      device[f] = values[i] as number;
    });
    const converter = this.converters.get(sensor.id);
    if (!converter) return;
    deliver(sensor.id, device, {
      ts: this.ctx.now(),
      converter,
      tracker: this.tracker,
      sink: this.sink,
      log: this.log,
    });
  }

  setIntervalMs(ms: number): void {
    this.poller.setIntervalMs(clampInterval(ms, this.log));
  }

  health(): DriverHealth {
    return this.tracker.snapshot();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakePause();
    this.master.close();
    await this.poller.stop();
    await this.link.stop();
  }
}
