import { BridgeError } from '../errors.ts';
import { exceptionName } from './exceptions.ts';
import { encodeReadRequest, type ReadRequest, type ResponseScan, scanResponse } from './frame.ts';

export interface ModbusTransport {
  write(bytes: Uint8Array): Promise<void>;
}

export interface ModbusMasterOptions {
  transport: ModbusTransport;
  baudRate: number;
  /** Bits per character on the wire: start + data + parity + stop (11 for 8E1 / 8N2). */
  bitsPerChar?: number;
  timeoutMs: number;
  retries: number;
  /** Monotonic ms, for timing (performance.now by default). */
  monotonic?: () => number;
}

export interface ReadResult {
  registers: number[];
  latencyMs: number;
  /** 1 when the first try answered. */
  attempts: number;
}

/**
 * A small Modbus RTU master for function codes 03/04. One transaction at a time (RS-485 is half
 * duplex): each waits for the 3.5-character inter-frame silence, sends, and collects bytes until a
 * response with a good CRC is found, an exception arrives, or the response timeout passes. Failed
 * attempts are retried; the error of the last attempt is thrown as a BridgeError whose reason
 * (timeout / crc / truncated / noise / exception) health counts.
 */
export class ModbusMaster {
  private readonly o: Required<ModbusMasterOptions>;
  private rx: Uint8Array = new Uint8Array(0);
  private lastActivity = -Infinity;
  private queue: Promise<unknown> = Promise.resolve();
  private waiter: (() => void) | undefined;
  private abort: (() => void) | undefined;
  private closed = false;

  constructor(o: ModbusMasterOptions) {
    this.o = { bitsPerChar: 11, monotonic: () => performance.now(), ...o };
  }

  /**
   * Modbus over Serial Line v1.02 §2.5.1.1: frames are separated by at least 3.5 character times;
   * above 19200 baud a fixed 1.75 ms is recommended.
   */
  get silenceMs(): number {
    if (this.o.baudRate > 19200) return 1.75;
    return (3.5 * this.o.bitsPerChar * 1000) / this.o.baudRate;
  }

  /** Feed every received chunk here. */
  receive(chunk: Uint8Array): void {
    this.lastActivity = this.o.monotonic();
    // Bound the buffer: a babbling line must not grow memory. 256 bytes is the RTU maximum ADU.
    const merged = new Uint8Array(Math.min(this.rx.length + chunk.length, 512));
    const keep = this.rx.subarray(Math.max(0, this.rx.length + chunk.length - 512));
    merged.set(keep);
    merged.set(chunk.subarray(Math.max(0, chunk.length - (512 - keep.length))), keep.length);
    this.rx = merged;
    this.waiter?.();
  }

  /** `onRetry` is called before each repeated attempt (health counts retries, failed or not). */
  read(req: ReadRequest, onRetry: () => void = () => {}): Promise<ReadResult> {
    const run = this.queue.then(() => this.transact(req, onRetry));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async transact(req: ReadRequest, onRetry: () => void): Promise<ReadResult> {
    const frame = encodeReadRequest(req);
    let last: BridgeError | undefined;
    for (let attempt = 1; attempt <= this.o.retries + 1; attempt++) {
      if (attempt > 1) onRetry();
      await this.waitSilence();
      this.rx = new Uint8Array(0);
      const t0 = this.o.monotonic();
      await this.o.transport.write(frame);
      this.lastActivity = this.o.monotonic();
      const outcome = await this.collect(req);
      if (this.closed) throw new BridgeError('SG_BRIDGE_STOPPED', 'master closed');
      if (outcome.kind === 'ok') {
        return {
          registers: outcome.registers,
          latencyMs: Math.round(this.o.monotonic() - t0),
          attempts: attempt,
        };
      }
      if (outcome.kind === 'exception') {
        // A deterministic answer from the device: retrying would get the same answer.
        const name = exceptionName(outcome.code);
        throw new BridgeError('SG_BRIDGE_EXCEPTION', `unit ${req.unit} fc ${req.fc}: ${name}`, name);
      }
      last = outcomeError(outcome.why, req);
    }
    throw last ?? new BridgeError('SG_BRIDGE_TIMEOUT', 'no attempt made');
  }

  /**
   * Waits for the line to be quiet for 3.5 characters before sending. A line that babbles without
   * pause would block the bus forever, so after one response timeout the request goes out anyway:
   * the response scan copes with noise, and a timeout is what health should show then.
   */
  private async waitSilence(): Promise<void> {
    const giveUp = this.o.monotonic() + this.o.timeoutMs;
    for (;;) {
      if (this.closed) throw new BridgeError('SG_BRIDGE_STOPPED', 'master closed');
      const now = this.o.monotonic();
      const wait = this.lastActivity + this.silenceMs - now;
      if (wait <= 0 || now >= giveUp) return;
      await new Promise((r) => setTimeout(r, Math.ceil(wait)));
    }
  }

  /** Ends the transaction in progress (its result is 'stopped') and refuses new ones. */
  close(): void {
    this.closed = true;
    this.abort?.();
  }

  /** Accepts transactions again after close() (a driver started again). */
  reopen(): void {
    this.closed = false;
  }

  /**
   * Collects the answer. A frame ends with 3.5 characters of silence (Modbus over Serial Line v1.02
   * §2.5.1.1), so a valid frame is only taken once the line has been quiet that long: by then the
   * whole answer is in and scanResponse can pick the last valid frame, not a chance match in noise.
   */
  private collect(req: ReadRequest): Promise<ResponseScan> {
    return new Promise((resolve) => {
      let settle: NodeJS.Timeout | undefined;
      const done = (r: ResponseScan) => {
        clearTimeout(timer);
        clearTimeout(settle);
        this.waiter = undefined;
        this.abort = undefined;
        resolve(r);
      };
      const timer = setTimeout(() => done(scanResponse(this.rx, req)), this.o.timeoutMs);
      this.abort = () => done({ kind: 'incomplete', why: 'empty' });
      const settleMs = Math.max(1, Math.ceil(this.silenceMs));
      this.waiter = () => {
        clearTimeout(settle);
        if (scanResponse(this.rx, req).kind === 'incomplete') return;
        settle = setTimeout(() => done(scanResponse(this.rx, req)), settleMs);
      };
    });
  }
}

function outcomeError(why: 'empty' | 'truncated' | 'crc' | 'noise', req: ReadRequest): BridgeError {
  const who = `unit ${req.unit} fc ${req.fc} @${req.address}x${req.count}`;
  switch (why) {
    case 'empty':
      return new BridgeError('SG_BRIDGE_TIMEOUT', `${who}: no response`);
    case 'truncated':
      return new BridgeError('SG_BRIDGE_TRUNCATED', `${who}: truncated response`);
    case 'crc':
      return new BridgeError('SG_BRIDGE_CRC', `${who}: bad CRC`);
    case 'noise':
      return new BridgeError('SG_BRIDGE_NOISE', `${who}: no valid frame in received bytes`);
  }
}
