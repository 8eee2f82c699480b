import type { SensorKind } from '@slopeguard/core';
import { encodeLine, parseLine } from '@slopeguard/firmware-bridge/line/codec.ts';
import { LineFramer } from '@slopeguard/firmware-bridge/serial/line-framer.ts';
import type { VirtualDevice } from './device.ts';
import type { ValueSource } from './signal.ts';

export interface LineNodeSensor {
  name: string;
  kind: SensorKind;
  source: ValueSource;
}

export interface LineNodeOptions {
  node: string;
  sensors: readonly LineNodeSensor[];
  /** Send period; 0 = only when `emit()` is called (tests that count lines). */
  intervalMs?: number;
  /** Supply voltage to report in H sentences, sent every `healthEvery` rounds. */
  supplyV?: number;
  healthEvery?: number;
  now?: () => number;
}

/**
 * A microcontroller node speaking the line protocol (docs/line-protocol.md): one R sentence per
 * sensor each round, an H sentence now and then, sequence numbers wrapping at 65536. Obeys
 * `$SG,C,...,interval_ms=` commands addressed to it or to '*'.
 */
export class LineNode implements VirtualDevice {
  private readonly o: LineNodeOptions;
  private send: (bytes: Uint8Array) => void = () => {};
  private readonly framer = new LineFramer({ maxLength: 200, start: '$' });
  private timer: NodeJS.Timeout | undefined;
  private interval: number;
  private seq = 0;
  private rounds = 0;

  constructor(o: LineNodeOptions) {
    this.o = o;
    this.interval = o.intervalMs ?? 0;
  }

  get intervalMs(): number {
    return this.interval;
  }

  attach(send: (bytes: Uint8Array) => void): void {
    this.send = send;
    this.schedule();
  }

  detach(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.send = () => {};
  }

  private schedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = this.interval > 0 ? setInterval(() => this.emit(), this.interval) : undefined;
  }

  /** One round: a reading line per sensor (and a health line every `healthEvery` rounds). */
  emit(): void {
    const now = (this.o.now ?? Date.now)();
    let text = '';
    for (const s of this.o.sensors) {
      const values = s.source(now);
      if (values === null) continue; // a silent sensor: nothing on the line
      text += encodeLine({
        type: 'R',
        node: this.o.node,
        seq: this.next(),
        sensor: s.name,
        kind: s.kind,
        values,
      });
    }
    this.rounds++;
    if (this.o.supplyV !== undefined && this.rounds % (this.o.healthEvery ?? 10) === 0) {
      text += encodeLine({
        type: 'H',
        node: this.o.node,
        seq: this.next(),
        values: { supply_v: this.o.supplyV },
      });
    }
    this.send(Buffer.from(text, 'latin1'));
  }

  /** Raw bytes on the line as if the node sent them (tests inject hand-made lines this way). */
  sendRaw(text: string): void {
    this.send(Buffer.from(text, 'latin1'));
  }

  private next(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % 65536;
    return s;
  }

  receive(chunk: Uint8Array): void {
    for (const line of this.framer.feed(chunk)) {
      const p = parseLine(line);
      if (!p.ok || p.sentence.type !== 'C') continue;
      if (p.sentence.node !== '*' && p.sentence.node !== this.o.node) continue;
      const ms = p.sentence.values.interval_ms;
      if (ms !== undefined && ms >= 50) {
        this.interval = ms;
        if (this.timer) this.schedule();
      }
    }
  }
}
