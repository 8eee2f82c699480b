import { BridgeError } from '../errors.ts';
import { LineFramer } from '../serial/line-framer.ts';
import {
  commands,
  isServiceRequest,
  type Parsed,
  parseAddress,
  parseConcurrent,
  parseData,
  parseMeasure,
} from './codec.ts';

export interface Sdi12Transport {
  write(bytes: Uint8Array): Promise<void>;
}

export interface Sdi12MasterOptions {
  transport: Sdi12Transport;
  /** Per-command response timeout. The standard's 15 ms (§7.0) is for the bus; an adapter and USB add more. */
  timeoutMs: number;
  /** Extra tries per command. §7.2 recommends retrying a command that got no valid answer. */
  retries: number;
  monotonic?: () => number;
}

export interface MeasureResult {
  values: number[];
  latencyMs: number;
}

/**
 * SDI-12 master through a transparent adapter: the adapter makes the break and the 1200 baud 7E1
 * timing; this side sends ASCII commands and reads ASCII lines. One command at a time; stale bytes
 * are discarded before each command so that noise cannot join the next response.
 */
export class Sdi12Master {
  private readonly o: Required<Sdi12MasterOptions>;
  private readonly framer = new LineFramer({ maxLength: 96 });
  private lines: string[] = [];
  private waiter: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private abort: (() => void) | undefined;

  constructor(o: Sdi12MasterOptions) {
    this.o = { monotonic: () => performance.now(), ...o };
  }

  receive(chunk: Uint8Array): void {
    for (const l of this.framer.feed(chunk)) this.lines.push(l);
    if (this.lines.length > 16) this.lines.splice(0, this.lines.length - 16);
    this.waiter?.();
  }

  /** The address of the single sensor on the bus (§4.4.4 `?!`). */
  queryAddress(): Promise<string> {
    return this.serial(() => this.ask(commands.addressQuery(), parseAddress, () => {}));
  }

  /** aM! (or aMC!), wait, then aD0!, aD1!, ... until `expected` values (or the sensor's count). */
  /** `onRetry` is called before each repeated command (health counts retries, failed or not). */
  measure(address: string, crc: boolean, onRetry: () => void = () => {}): Promise<MeasureResult> {
    return this.serial(async () => {
      const t0 = this.o.monotonic();
      const m = await this.ask(commands.measure(address, crc), (l) => parseMeasure(l, address), onRetry);
      const { seconds, count } = m;
      if (seconds > 0) await this.awaitService(address, seconds * 1000 + this.o.timeoutMs);
      const values = await this.pages(address, crc, count, onRetry);
      return { values, latencyMs: Math.round(this.o.monotonic() - t0) };
    });
  }

  /**
   * aC! (or aCC!): starts a concurrent measurement and returns at once with the sensor's announced
   * time and value count; the bus is free for other sensors meanwhile. Fetch with `collect`.
   */
  startConcurrent(
    address: string,
    crc: boolean,
    onRetry: () => void = () => {},
  ): Promise<{ seconds: number; count: number }> {
    return this.serial(() =>
      this.ask(commands.concurrent(address, crc), (l) => parseConcurrent(l, address), onRetry),
    );
  }

  /** aD0!, aD1!, ... after a concurrent measurement's time has passed, until `count` values. */
  collect(address: string, crc: boolean, count: number, onRetry: () => void = () => {}): Promise<number[]> {
    return this.serial(() => this.pages(address, crc, count, onRetry));
  }

  private async pages(address: string, crc: boolean, count: number, onRetry: () => void): Promise<number[]> {
    const values: number[] = [];
    for (let page = 0; values.length < count && page <= 9; page++) {
      const d = await this.ask(commands.data(address, page), (l) => parseData(l, address, crc), onRetry);
      if (d.length === 0) break;
      values.push(...d);
    }
    if (values.length !== count) {
      throw new BridgeError(
        'SG_BRIDGE_BAD_RESPONSE',
        `sensor ${address} announced ${count} values, sent ${values.length}`,
      );
    }
    return values;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async ask<T>(cmd: string, parse: (line: string) => Parsed<T>, onRetry: () => void): Promise<T> {
    let last: BridgeError | undefined;
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      if (this.closed) throw new BridgeError('SG_BRIDGE_STOPPED', 'master closed');
      if (attempt > 0) onRetry();
      this.framer.reset();
      this.lines = [];
      await this.o.transport.write(Buffer.from(cmd, 'latin1'));
      let line = await this.nextLine(this.o.timeoutMs);
      // Some adapters echo the command before the sensor's answer.
      if (line === cmd) line = await this.nextLine(this.o.timeoutMs);
      if (line === undefined) {
        last = new BridgeError('SG_BRIDGE_TIMEOUT', `${cmd}: no response`);
        continue;
      }
      const p = parse(line);
      if (p.ok) return p.value;
      last = new BridgeError(
        p.reason === 'crc' ? 'SG_BRIDGE_CRC' : 'SG_BRIDGE_BAD_RESPONSE',
        `${cmd}: ${p.message}`,
      );
    }
    throw last ?? new BridgeError('SG_BRIDGE_TIMEOUT', `${cmd}: no attempt`);
  }

  /** Waits for the service request (§4.4.6) or until `ms` passed: either way data may be fetched. */
  private async awaitService(address: string, ms: number): Promise<void> {
    const deadline = this.o.monotonic() + ms;
    for (;;) {
      const left = deadline - this.o.monotonic();
      if (left <= 0) return;
      const line = await this.nextLine(left);
      if (line === undefined || isServiceRequest(line, address)) return;
    }
  }

  private nextLine(timeoutMs: number): Promise<string | undefined> {
    if (this.closed) return Promise.reject(new BridgeError('SG_BRIDGE_STOPPED', 'master closed'));
    const ready = this.lines.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const finish = (l: string | undefined) => {
        clearTimeout(timer);
        this.waiter = undefined;
        this.abort = undefined;
        resolve(l);
      };
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      this.waiter = () => {
        const l = this.lines.shift();
        if (l !== undefined) finish(l);
      };
      this.abort = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        this.abort = undefined;
        reject(new BridgeError('SG_BRIDGE_STOPPED', 'master closed'));
      };
    });
  }

  /**
   * Ends the command in progress (it fails with 'stopped') and refuses new ones: a measurement may
   * announce up to 999 s (§4.4.6), and stop() must not wait for that.
   */
  close(): void {
    this.closed = true;
    this.abort?.();
  }

  /** Accepts transactions again after close() (a driver started again). */
  reopen(): void {
    this.closed = false;
  }
}
