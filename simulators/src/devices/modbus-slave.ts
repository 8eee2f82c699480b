import {
  encodeException,
  encodeReadResponse,
  type ReadFunction,
  scanRequest,
} from '@slopeguard/firmware-bridge/modbus/frame.ts';
import {
  encodeField,
  fieldWidth,
  type RegisterMap,
} from '@slopeguard/firmware-bridge/modbus/register-map.ts';
import type { VirtualDevice } from './device.ts';
import type { ValueSource } from './signal.ts';

export interface SlaveUnit {
  unit: number;
  map: RegisterMap;
  source: ValueSource;
}

/**
 * A Modbus RTU slave (one or more unit addresses on one line) serving registers laid out by the same
 * register maps the driver reads: the device encodes engineering values with the map, the driver
 * decodes them with it. Answers 03/04 within the mapped address space, ILLEGAL_FUNCTION for other
 * function codes, ILLEGAL_DATA_ADDRESS outside (Modbus Application Protocol v1.1b3 §7).
 */
export class ModbusSlave implements VirtualDevice {
  private readonly units = new Map<number, SlaveUnit>();
  private send: (bytes: Uint8Array) => void = () => {};
  private rx = new Uint8Array(0);
  private readonly now: () => number;
  /** Requests answered, by unit: tests use it to know how many samples were taken. */
  readonly served = new Map<number, number>();

  constructor(units: readonly SlaveUnit[], now: () => number = Date.now) {
    for (const u of units) this.units.set(u.unit, u);
    this.now = now;
  }

  attach(send: (bytes: Uint8Array) => void): void {
    this.send = send;
  }

  detach(): void {
    this.send = () => {};
    this.rx = new Uint8Array(0);
  }

  receive(chunk: Uint8Array): void {
    const merged = new Uint8Array(this.rx.length + chunk.length);
    merged.set(this.rx);
    merged.set(chunk, this.rx.length);
    this.rx = merged.length > 512 ? merged.subarray(merged.length - 512) : merged;
    for (;;) {
      const s = scanRequest(this.rx, (u) => this.units.has(u));
      if (s.kind === 'none') {
        this.rx = this.rx.subarray(s.drop);
        return;
      }
      this.rx = this.rx.subarray(s.end);
      this.answer(s.request.unit, s.request.fc, s.request.address, s.request.count);
    }
  }

  private answer(unit: number, fc: number, address: number, count: number): void {
    const u = this.units.get(unit);
    if (!u) return;
    if (fc !== 3 && fc !== 4) {
      this.send(encodeException(unit, fc, 0x01));
      return;
    }
    const image = this.image(u, fc);
    if (image === undefined) return; // the sensor is silent: no reply, the master times out
    if (count < 1 || count > 125 || address + count > image.length) {
      this.send(encodeException(unit, fc, 0x02));
      return;
    }
    this.served.set(unit, (this.served.get(unit) ?? 0) + 1);
    this.send(encodeReadResponse(unit, fc as ReadFunction, image.slice(address, address + count)));
  }

  /** The register image of one function code, from a fresh sample; undefined while the sensor is silent. */
  private image(u: SlaveUnit, fc: 3 | 4): number[] | undefined {
    const fields = u.map.fields.filter((f) => (f.function ?? u.map.function) === fc);
    const size = Math.max(0, ...fields.map((f) => f.address + fieldWidth(f)));
    const regs = new Array<number>(size).fill(0);
    const values = u.source(this.now());
    if (values === null) return undefined;
    for (const f of fields) {
      const v = values[f.name];
      if (v === undefined) continue;
      encodeField(f, v).forEach((w, i) => {
        regs[f.address + i] = w;
      });
    }
    return regs;
  }
}
