import { childLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import type { ModbusDriverConfig, ModbusSensor } from '../config.ts';
import { driverId, serialSettings } from '../config.ts';
import { SensorConverter } from '../convert.ts';
import type { Driver, DriverHealth, ReadingSink } from '../driver.ts';
import { reasonOf } from '../errors.ts';
import { HealthTracker } from '../health.ts';
import { ModbusMaster } from '../modbus/master.ts';
import {
  decodeFields,
  loadRegisterMap,
  planReads,
  type ReadBlock,
  type RegisterMap,
  SHIPPED_MAPS_DIR,
} from '../modbus/register-map.ts';
import type { BindingInterface } from '../serial/binding.ts';
import { SerialLink } from '../serial/link.ts';
import { deliver } from './deliver.ts';
import { clampInterval, Poller } from './poller.ts';

export interface DriverContext {
  logger: Logger;
  binding: BindingInterface | (() => Promise<BindingInterface>);
  now: () => number;
}

interface Slot {
  sensor: ModbusSensor;
  map?: RegisterMap;
  blocks?: ReadBlock[];
  converter?: SensorConverter;
}

/** Polls Modbus RTU slaves on one RS-485 port, each decoded through its register map. */
export class ModbusDriver implements Driver {
  readonly id: string;
  private readonly cfg: ModbusDriverConfig;
  private readonly ctx: DriverContext;
  private readonly log: Logger;
  private readonly tracker: HealthTracker;
  private readonly link: SerialLink;
  private readonly master: ModbusMaster;
  private readonly slots: Slot[];
  private readonly poller: Poller;
  private sink: ReadingSink = () => {};
  private stopping = false;

  constructor(cfg: ModbusDriverConfig, ctx: DriverContext) {
    this.cfg = cfg;
    this.ctx = ctx;
    this.id = driverId(cfg);
    this.log = childLogger(ctx.logger, { driver: this.id });
    this.tracker = new HealthTracker(
      this.log,
      ctx.now,
      cfg.sensors.map((s) => s.id),
    );
    const settings = serialSettings(cfg);
    this.master = new ModbusMaster({
      transport: { write: (b) => this.link.write(b) },
      baudRate: settings.baudRate,
      bitsPerChar: 1 + settings.dataBits + (settings.parity === 'none' ? 0 : 1) + settings.stopBits,
      timeoutMs: cfg.timeoutMs ?? 500,
      retries: cfg.retries ?? 2,
    });
    this.link = new SerialLink({
      settings,
      binding: ctx.binding,
      logger: this.log,
      health: this.tracker,
      onData: (chunk) => this.master.receive(chunk),
    });
    this.slots = cfg.sensors.map((sensor) => ({ sensor }));
    const interval = cfg.intervalMs ?? 10_000;
    this.poller = new Poller(
      this.slots.map((slot) => ({
        id: slot.sensor.id,
        intervalMs: slot.sensor.intervalMs ?? interval,
        run: () => this.poll(slot),
      })),
      (id, err) => this.tracker.error(reasonOf(err), (err as Error).message, id),
    );
  }

  async start(sink: ReadingSink): Promise<void> {
    this.sink = sink;
    this.stopping = false;
    this.master.reopen();
    const dirs = this.cfg.mapsDir ? [this.cfg.mapsDir, SHIPPED_MAPS_DIR] : [SHIPPED_MAPS_DIR];
    for (const slot of this.slots) {
      try {
        const map = await loadRegisterMap(slot.sensor.model, dirs);
        slot.map = map;
        slot.blocks = planReads(map);
        const range: Record<string, readonly [number, number]> = {};
        for (const f of map.fields) if (f.range) range[f.name] = f.range;
        const counter = map.counter && {
          field: map.counter.field,
          mmPerCount: slot.sensor.counter?.mmPerCount ?? map.counter.mmPerCount,
          wrap: slot.sensor.counter?.wrap ?? map.counter.wrap,
        };
        slot.converter = new SensorConverter({
          sensor: slot.sensor.id,
          kind: slot.sensor.kind,
          calibration: slot.sensor.calibration,
          range: { ...range, ...slot.sensor.range },
          counter,
        });
      } catch (err) {
        // A bad map disables that sensor only; the others keep reading.
        this.tracker.error(reasonOf(err), (err as Error).message, slot.sensor.id);
      }
    }
    await this.link.start();
    this.poller.start();
  }

  private async poll(slot: Slot): Promise<void> {
    const { sensor, map, blocks, converter } = slot;
    if (!map || !blocks || !converter || !this.link.isOpen) return;
    const regs: number[][] = [];
    let latency = 0;
    try {
      for (const b of blocks) {
        const req = { unit: sensor.unit, fc: b.fc, address: b.address, count: b.count };
        const r = await this.master.read(req, () => this.tracker.count('retry', sensor.id));
        regs.push(r.registers);
        latency += r.latencyMs;
      }
    } catch (err) {
      if (this.stopping || !this.link.isOpen) return; // the port went away mid-poll: counted as 'disconnected' by the link
      this.tracker.error(reasonOf(err), (err as Error).message, sensor.id);
      return;
    }
    this.tracker.ok(sensor.id, latency);
    deliver(sensor.id, decodeFields(map, blocks, regs), {
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
