import { formatValue } from '@slopeguard/firmware-bridge/sdi12/codec.ts';
import { withSdi12Crc } from '@slopeguard/firmware-bridge/sdi12/crc.ts';
import type { VirtualDevice } from './device.ts';
import type { ValueSource } from './signal.ts';

export interface Sdi12SensorOptions {
  address: string;
  /** Value names in the order the sensor reports them. */
  fields: readonly string[];
  source: ValueSource;
  /** Decimals per value (§4.4.7 allows at most 7 digits in all). */
  decimals?: number;
  /** `ttt` announced in the aM! reply, seconds. */
  seconds?: number;
  /** When to send the service request after aM!, ms (< seconds*1000 means "ready early"). */
  serviceAfterMs?: number;
  /** The 13-character identification after the version in aI! (§4.4.3). */
  ident?: string;
  now?: () => number;
}

/**
 * An SDI-12 v1.4 sensor as seen through a transparent adapter: ASCII commands ending in '!' in,
 * responses ending in CR LF out. Implements ?!, a!, aI!, aM!, aMC!, aC!, aCC! and aD0!..aD9!; a sensor
 * at another address stays silent, as on a real bus. After aC! the values are there only once the
 * announced time has passed (a data request before that gets the address alone, no values), and no
 * service request is sent, as the standard has it for concurrent measurements.
 */
export class Sdi12Sensor implements VirtualDevice {
  private readonly o: Required<Omit<Sdi12SensorOptions, 'now'>> & { now: () => number };
  private send: (bytes: Uint8Array) => void = () => {};
  private rx = '';
  private pages: string[] = [];
  private crc = false;
  private timer: NodeJS.Timeout | undefined;
  /** Measurements taken: tests use it to know how many samples were drawn. */
  measurements = 0;
  /** The commands addressed to this sensor, in order (tests check what the master sent when). */
  readonly received: string[] = [];
  /** After aC!: when the values may be fetched (the sensor clock, ms). */
  private readyAt = 0;

  constructor(o: Sdi12SensorOptions) {
    this.o = { decimals: 3, seconds: 0, serviceAfterMs: 0, ident: 'SLOPEGRDSIM001', now: Date.now, ...o };
  }

  attach(send: (bytes: Uint8Array) => void): void {
    this.send = send;
  }

  detach(): void {
    if (this.timer) clearTimeout(this.timer);
    this.send = () => {};
  }

  receive(chunk: Uint8Array): void {
    for (const b of chunk) {
      const c = String.fromCharCode(b & 0x7f);
      this.rx += c;
      if (this.rx.length > 32) this.rx = this.rx.slice(-32);
      if (c === '!') {
        const cmd = this.rx;
        this.rx = '';
        this.command(cmd);
      }
    }
  }

  private reply(text: string): void {
    this.send(Buffer.from(`${text}\r\n`, 'latin1'));
  }

  private command(raw: string): void {
    // Noise before a command is common after a break; take the tail that forms a command.
    const cmd = /([0-9A-Za-z?])([A-Z0-9]*)!$/.exec(raw);
    if (!cmd) return;
    const [, addr, body = ''] = cmd;
    const out = this.answer(addr, body);
    if (out !== undefined) this.reply(out);
  }

  /** The reply to one command, or undefined for silence. */
  private answer(addr: string | undefined, body: string): string | undefined {
    const a = this.o.address;
    if (addr === '?' && body === '') return a;
    if (addr !== a) return undefined;
    this.received.push(`${a}${body}!`);
    if (body === '') return a;
    if (body === 'I') return `${a}14${this.o.ident.padEnd(17, ' ').slice(0, 17)}`;
    if (body === 'M' || body === 'MC') return this.measure(body === 'MC', false);
    if (body === 'C' || body === 'CC') return this.measure(body === 'CC', true);
    const d = /^D(\d)$/.exec(body);
    if (!d) return undefined;
    const page = this.o.now() < this.readyAt ? '' : (this.pages[Number(d[1])] ?? '');
    return this.crc ? withSdi12Crc(a + page) : a + page;
  }

  private measure(crc: boolean, concurrent: boolean): string | undefined {
    const a = this.o.address;
    const sample = this.o.source(this.o.now());
    if (sample === null) return undefined; // a silent sensor does not answer
    this.measurements++;
    this.crc = crc;
    const values = this.o.fields.map((f) => formatValue(sample[f] ?? 0, this.o.decimals));
    // §4.4.8: a D response carries at most 35 characters of values after aM!, 75 after aC!.
    const max = concurrent ? 75 : 35;
    this.pages = [];
    let page = '';
    for (const v of values) {
      if (page.length + v.length > max) {
        this.pages.push(page);
        page = '';
      }
      page += v;
    }
    this.pages.push(page);
    if (concurrent) {
      this.readyAt = this.o.now() + this.o.seconds * 1000;
      return `${a}${String(this.o.seconds).padStart(3, '0')}${String(values.length).padStart(2, '0')}`;
    }
    this.readyAt = 0;
    if (this.o.seconds > 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.reply(a), this.o.serviceAfterMs);
    }
    return `${a}${String(this.o.seconds).padStart(3, '0')}${values.length}`;
  }
}
