import { SerialPortStream } from '@serialport/stream';
import type { Logger } from 'pino';
import type { SerialSettings } from '../config.ts';
import { BridgeError } from '../errors.ts';
import type { HealthTracker } from '../health.ts';
import { backoffMs } from './backoff.ts';
import type { BindingInterface } from './binding.ts';

export interface SerialLinkOptions {
  settings: SerialSettings;
  /** The binding, or a loader of it (the real binding loads lazily, at the first open). */
  binding: BindingInterface | (() => Promise<BindingInterface>);
  logger: Logger;
  health: HealthTracker;
  onData(chunk: Buffer): void;
  /** Called after every successful (re)open. */
  onOpen?(): void;
}

/**
 * One serial port that stays open: when it fails to open or disappears (USB adapter unplugged,
 * socat killed) it is reopened with capped exponential backoff, forever, until stop(). Errors go
 * to health; nothing is thrown at the caller except from write() while the port is down.
 */
export class SerialLink {
  private readonly o: SerialLinkOptions;
  private port: SerialPortStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = true;
  private everOpened = false;
  private openWaiters: Array<() => void> = [];

  constructor(o: SerialLinkOptions) {
    this.o = o;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  /** Starts the open loop; resolves after the first attempt, whatever its outcome. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.tryOpen();
  }

  /** Resolves when the port is open, or after `timeoutMs` (then false). */
  waitOpen(timeoutMs: number): Promise<boolean> {
    if (this.isOpen) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.openWaiters = this.openWaiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        resolve(true);
      };
      this.openWaiters.push(done);
    });
  }

  private async tryOpen(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const s = this.o.settings;
    let binding: BindingInterface;
    try {
      const b = this.o.binding;
      binding = typeof b === 'function' ? await b() : b;
    } catch (err) {
      this.o.health.error('open_failed', `binding failed to load: ${(err as Error).message}`);
      this.schedule();
      return;
    }
    const port = new SerialPortStream({
      binding,
      path: s.path,
      baudRate: s.baudRate,
      dataBits: s.dataBits,
      parity: s.parity,
      stopBits: s.stopBits,
      autoOpen: false,
    });
    const err = await new Promise<Error | null>((resolve) => port.open((e) => resolve(e)));
    if (this.stopped) {
      if (!err) await closeQuietly(port);
      return;
    }
    if (err) {
      this.o.health.error('open_failed', err.message);
      this.schedule();
      return;
    }
    this.port = port;
    this.attempt = 0;
    if (this.everOpened) this.o.health.reopened();
    this.everOpened = true;
    this.o.logger.info({ path: s.path }, 'serial port open');
    port.on('data', (chunk: Buffer) => this.o.onData(chunk));
    // 'error' must have a listener or an emitted error would crash the process.
    port.on('error', (e: Error) => this.o.health.error('disconnected', e.message));
    port.on('close', (e: (Error & { disconnected?: boolean }) | null) => this.closed(port, e));
    this.o.health.port(true);
    this.o.onOpen?.();
    const waiters = this.openWaiters;
    this.openWaiters = [];
    for (const w of waiters) w();
  }

  private closed(port: SerialPortStream, e: Error | null): void {
    if (this.port !== port) return;
    this.port = undefined;
    this.o.health.port(false);
    if (this.stopped) return;
    this.o.health.error('disconnected', e?.message ?? 'port closed');
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    const delay = backoffMs(this.attempt++, this.o.settings.reopenInitialMs, this.o.settings.reopenMaxMs);
    this.timer = setTimeout(() => void this.tryOpen(), delay);
  }

  /** Writes and waits until the bytes have left the driver (tcdrain), so callers can time replies. */
  write(bytes: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) return Promise.reject(new BridgeError('SG_BRIDGE_PORT_CLOSED', 'port is not open'));
    return new Promise((resolve, reject) => {
      port.write(Buffer.from(bytes), (err) => {
        if (err) return reject(new BridgeError('SG_BRIDGE_DISCONNECTED', err.message));
        port.drain((e) => (e ? reject(new BridgeError('SG_BRIDGE_DISCONNECTED', e.message)) : resolve()));
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const port = this.port;
    this.port = undefined;
    if (port) await closeQuietly(port);
    this.o.health.port(false);
  }
}

async function closeQuietly(port: SerialPortStream): Promise<void> {
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => port.close(() => resolve()));
}
