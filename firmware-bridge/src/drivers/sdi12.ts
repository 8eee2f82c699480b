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

  constructor(cfg: Sdi12DriverConfig, ctx: DriverContext) {
    this.ctx = ctx;
    this.id = driverId(cfg);
    this.log = ctx.logger.child({ driver: this.id });
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
    this.poller = new Poller(
      cfg.sensors.map((s) => ({ id: s.id, intervalMs: s.intervalMs ?? interval, run: () => this.poll(s) })),
      (id, err) => this.tracker.error(reasonOf(err), (err as Error).message, id),
    );
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
    this.master.close();
    await this.poller.stop();
    await this.link.stop();
  }
}
