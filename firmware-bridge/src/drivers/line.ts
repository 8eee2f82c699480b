import { childLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import type { LineDriverConfig, LineSensor } from '../config.ts';
import { driverId, serialSettings } from '../config.ts';
import { rainCounter, SensorConverter } from '../convert.ts';
import type { Driver, DriverHealth, ReadingSink } from '../driver.ts';
import { HealthTracker } from '../health.ts';
import { encodeLine, LINE_MAX, parseLine, type Sentence } from '../line/codec.ts';
import { LineFramer } from '../serial/line-framer.ts';
import { SerialLink } from '../serial/link.ts';
import { deliver } from './deliver.ts';
import type { DriverContext } from './modbus.ts';
import { clampInterval } from './poller.ts';

interface Slot {
  sensor: LineSensor;
  converter: SensorConverter | undefined;
  lastSeen: number;
  stale: boolean;
}

/**
 * Listens to line-protocol nodes. Nodes push at their own pace; the driver frames, checks, maps
 * (node, sensor name) to a configured sensor and converts. A configured sensor that falls silent
 * for three of its intervals is reported as a timeout (once per silence).
 */
export class LineDriver implements Driver {
  readonly id: string;
  private readonly ctx: DriverContext;
  private readonly log: Logger;
  private readonly tracker: HealthTracker;
  private readonly link: SerialLink;
  private readonly framer = new LineFramer({ maxLength: LINE_MAX, start: '$' });
  private readonly slots = new Map<string, Slot>();
  private readonly lastSeq = new Map<string, number>();
  private readonly watchdogMs: number | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private cmdSeq = 0;
  private sink: ReadingSink = () => {};

  constructor(cfg: LineDriverConfig, ctx: DriverContext) {
    this.ctx = ctx;
    this.id = driverId(cfg);
    this.log = childLogger(ctx.logger, { driver: this.id });
    this.tracker = new HealthTracker(
      this.log,
      ctx.now,
      cfg.sensors.map((s) => s.id),
    );
    this.link = new SerialLink({
      settings: serialSettings(cfg),
      binding: ctx.binding,
      logger: this.log,
      health: this.tracker,
      onData: (chunk) => this.receive(chunk),
      onOpen: () => this.framer.reset(),
    });
    for (const s of cfg.sensors) {
      this.slots.set(`${s.node}/${s.name ?? s.id}`, {
        sensor: s,
        converter: undefined,
        lastSeen: 0,
        stale: false,
      });
    }
    const intervals = cfg.sensors.map((s) => s.intervalMs).filter((v): v is number => v !== undefined);
    this.watchdogMs = intervals.length > 0 ? Math.min(...intervals) : undefined;
  }

  async start(sink: ReadingSink): Promise<void> {
    this.sink = sink;
    const t = performance.now();
    for (const slot of this.slots.values()) slot.lastSeen = t;
    await this.link.start();
    if (this.watchdogMs !== undefined) this.watchdog = setInterval(() => this.checkStale(), this.watchdogMs);
  }

  private receive(chunk: Buffer): void {
    const before = this.framer.discarded;
    const lines = this.framer.feed(chunk);
    if (this.framer.discarded > before) this.tracker.count('noise_bytes');
    for (const line of lines) {
      try {
        this.handle(line);
      } catch (err) {
        // A sink or converter bug must not stop the line; it is logged as a bug, not counted as noise.
        this.log.error({ err }, 'line handler failed');
      }
    }
  }

  private handle(line: string): void {
    const p = parseLine(line);
    if (!p.ok) {
      this.tracker.error(p.reason, p.message);
      return;
    }
    const s = p.sentence;
    this.trackSeq(s);
    if (s.type === 'H') {
      if (s.values.supply_v !== undefined) {
        for (const slot of this.slots.values())
          if (slot.sensor.node === s.node) this.tracker.supply(s.values.supply_v, slot.sensor.id);
      }
      return;
    }
    if (s.type !== 'R') return;
    const slot = this.slots.get(`${s.node}/${s.sensor}`);
    if (!slot || slot.sensor.kind !== s.kind) {
      this.tracker.error('unknown_sensor', `${s.node}/${s.sensor} (${s.kind}) is not configured`);
      return;
    }
    slot.lastSeen = performance.now();
    slot.stale = false;
    this.tracker.ok(slot.sensor.id);
    slot.converter ??= new SensorConverter({
      sensor: slot.sensor.id,
      kind: slot.sensor.kind,
      calibration: slot.sensor.calibration,
      range: slot.sensor.range,
      counter: rainCounter(slot.sensor.kind, Object.keys(s.values), slot.sensor.counter),
    });
    deliver(slot.sensor.id, s.values, {
      ts: this.ctx.now(),
      converter: slot.converter,
      tracker: this.tracker,
      sink: this.sink,
      log: this.log,
    });
  }

  /** Sequence numbers count lines lost on the way (16-bit, wrapping). */
  private trackSeq(s: Sentence): void {
    const prev = this.lastSeq.get(s.node);
    this.lastSeq.set(s.node, s.seq);
    if (prev === undefined) return;
    const gap = (s.seq - prev - 1 + 65536) % 65536;
    // A node that restarted begins again at 0, and a jump of more than 1000 is a restart or a
    // reordering rather than 1000 lost lines: neither is counted as a loss.
    if (gap > 0 && gap <= 1000 && s.seq !== 0) this.tracker.count('seq_gap', undefined, gap);
  }

  private checkStale(): void {
    const t = performance.now();
    for (const slot of this.slots.values()) {
      const every = slot.sensor.intervalMs;
      if (every === undefined || slot.stale || t - slot.lastSeen < 3 * every) continue;
      slot.stale = true;
      this.tracker.error('timeout', `no line for ${Math.round(t - slot.lastSeen)} ms`, slot.sensor.id);
    }
  }

  /** Asks every node to change its interval ($SG,C,*,...). Nodes that do not implement commands ignore it. */
  setIntervalMs(ms: number): void {
    const interval = clampInterval(ms, this.log);
    this.cmdSeq = (this.cmdSeq + 1) % 65536;
    const line = encodeLine({ type: 'C', node: '*', seq: this.cmdSeq, values: { interval_ms: interval } });
    this.link
      .write(Buffer.from(line, 'latin1'))
      .catch((err: Error) => this.tracker.error('port_closed', err.message));
  }

  health(): DriverHealth {
    return this.tracker.snapshot();
  }

  async stop(): Promise<void> {
    if (this.watchdog) clearInterval(this.watchdog);
    await this.link.stop();
  }
}
