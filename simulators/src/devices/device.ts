import { SerialPortStream } from '@serialport/stream';
import type { BindingInterface } from '@slopeguard/firmware-bridge/serial/binding.ts';
import { defaultBinding } from '@slopeguard/firmware-bridge/serial/binding.ts';
import type { MockLine } from '@slopeguard/firmware-bridge/serial/mock-line.ts';
import { createRng, type Rng } from '../rng.ts';

/**
 * A virtual device is protocol logic only: bytes from the master come in through receive(), and
 * whatever it puts on the line goes out through the `send` it was attached with. Where the bytes
 * travel (a socat pty, a MockBinding line) and what goes wrong on the way (faults) is the port's job.
 */
export interface VirtualDevice {
  attach(send: (bytes: Uint8Array) => void): void;
  receive(chunk: Uint8Array): void;
  detach(): void;
}

/** Fault injection on the device's transmit side. Mutable at run time. */
export interface Faults {
  /** Probability (0..1) that a transmission is preceded by random noise bytes. */
  noise: number;
  /** Number of noise bytes each time (1..n, uniform). */
  noiseBytes: number;
  /** Probability that one byte of a transmission is flipped (bad CRC / checksum). */
  corrupt: number;
  /** Probability that a transmission is cut short. */
  truncate: number;
  /** Extra delay before each transmission (a slow device), ms. */
  delayMs: number;
  /** Probability that a transmission is dropped. */
  drop: number;
  /** Drop everything: the device stops answering. */
  silent: boolean;
}

export const NO_FAULTS: Readonly<Faults> = {
  noise: 0,
  noiseBytes: 8,
  corrupt: 0,
  truncate: 0,
  delayMs: 0,
  drop: 0,
  silent: false,
};

/** Wraps a transmit function with the faults; deterministic from `seed`. */
export function faultySend(
  out: (bytes: Uint8Array) => void,
  faults: Faults,
  rng: Rng,
): (bytes: Uint8Array) => void {
  return (bytes) => {
    if (faults.silent || rng.next() < faults.drop) return;
    let frame = bytes;
    if (rng.next() < faults.corrupt && frame.length > 0) {
      frame = Uint8Array.from(frame);
      const i = Math.floor(rng.next() * frame.length);
      frame[i] = (frame[i] as number) ^ (1 << Math.floor(rng.next() * 8));
    }
    if (rng.next() < faults.truncate && frame.length > 1)
      frame = frame.subarray(0, Math.floor(rng.next() * frame.length));
    if (rng.next() < faults.noise) {
      const n = 1 + Math.floor(rng.next() * Math.max(1, faults.noiseBytes));
      const noise = new Uint8Array(n);
      for (let i = 0; i < n; i++) noise[i] = Math.floor(rng.next() * 256);
      const merged = new Uint8Array(n + frame.length);
      merged.set(noise);
      merged.set(frame, n);
      frame = merged;
    }
    if (faults.delayMs > 0) setTimeout(() => out(frame), faults.delayMs);
    else out(frame);
  };
}

export interface AttachedDevice {
  readonly faults: Faults;
  close(): Promise<void>;
}

export interface PathAttachOptions {
  path: string;
  baudRate?: number;
  dataBits?: 7 | 8;
  parity?: 'none' | 'even' | 'odd';
  binding?: BindingInterface;
  faults?: Partial<Faults>;
  seed?: number;
  /** How often to retry opening after the line vanished (socat restarted), ms. */
  reopenMs?: number;
}

/**
 * Runs `device` on a serial path (one end of a socat pty pair, or a real port with a USB-RS485
 * adapter on a bench). Reopens when the port goes away, so a socat restart is survived like a replug.
 */
export async function attachToPath(device: VirtualDevice, o: PathAttachOptions): Promise<AttachedDevice> {
  const faults: Faults = { ...NO_FAULTS, ...o.faults };
  const binding = o.binding ?? (await defaultBinding());
  let port: SerialPortStream | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const send = faultySend(
    (bytes) => {
      if (port?.isOpen) port.write(Buffer.from(bytes));
    },
    faults,
    createRng(o.seed ?? 1),
  );

  const open = async (): Promise<void> => {
    timer = undefined;
    if (closed) return;
    const p = new SerialPortStream({
      binding,
      path: o.path,
      baudRate: o.baudRate ?? 9600,
      dataBits: o.dataBits ?? 8,
      parity: o.parity ?? 'none',
      autoOpen: false,
    });
    const err = await new Promise<Error | null>((resolve) => p.open(resolve));
    if (err || closed) {
      if (!err) p.close();
      if (!closed) timer = setTimeout(() => void open(), o.reopenMs ?? 50);
      return;
    }
    port = p;
    p.on('data', (chunk: Buffer) => device.receive(new Uint8Array(chunk)));
    p.on('error', () => {});
    p.on('close', () => {
      if (port === p) port = undefined;
      if (!closed) timer = setTimeout(() => void open(), o.reopenMs ?? 50);
    });
  };

  device.attach(send);
  await open();
  if (!port) throw new Error(`cannot open ${o.path}`);
  return {
    faults,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      device.detach();
      const p = port;
      port = undefined;
      if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
    },
  };
}

/** Runs `device` at the far end of a MockBinding line. */
export function attachToMockLine(
  device: VirtualDevice,
  line: MockLine,
  o: { faults?: Partial<Faults>; seed?: number } = {},
): AttachedDevice {
  const faults: Faults = { ...NO_FAULTS, ...o.faults };
  device.attach(faultySend((bytes) => line.emit(bytes), faults, createRng(o.seed ?? 1)));
  line.onWrite = (bytes) => device.receive(bytes);
  return {
    faults,
    async close() {
      line.onWrite = () => {};
      device.detach();
    },
  };
}
