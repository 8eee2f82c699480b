import { decodePayload, type Status, systemTopic } from '@slopeguard/core';
import type { Logger } from 'pino';

/** Where the broker publishes its time, `{"ts": epoch_ms}` every 10 s at QoS 0. */
export const CLOCK_TOPIC = systemTopic('clock');

export type ClockState = NonNullable<Status['clock']>;

/**
 * The gateway checks its own clock against the broker's. A gateway without an RTC battery boots in
 * 1970 or wherever its image was built, and without NTP it stays there: its readings would carry
 * wrong times that the broker and control center refuse, and nobody would know why. The offset is
 * measured on each broker tick (the message's transit time, tens of ms, is inside the offset; the skew
 * allowed is minutes). `onChange` runs when the clock turns faulty and when it is right again, once
 * each; the first tick reports only a fault.
 */
export class ClockCheck {
  readonly #log: Logger;
  readonly #onChange: (offsetMs: number, ok: boolean) => void;
  #maxSkewMs: number;
  #state: ClockState | undefined;
  /** Malformed ticks in a row: the first is logged, the rest counted until a good one. */
  #refused = 0;

  constructor(maxSkewMs: number, log: Logger, onChange: (offsetMs: number, ok: boolean) => void) {
    this.#maxSkewMs = maxSkewMs;
    this.#log = log;
    this.#onChange = onChange;
  }

  set maxSkewMs(ms: number) {
    this.#maxSkewMs = ms;
  }

  get maxSkewMs(): number {
    return this.#maxSkewMs;
  }

  /** For the status: absent until the broker's first tick. */
  get state(): ClockState | undefined {
    return this.#state && { ...this.#state };
  }

  /** A message on CLOCK_TOPIC, received at gateway time `now`. Anything but `{"ts": epoch ms}` is ignored. */
  onTick(payload: Uint8Array, now: number): void {
    const d = decodePayload('clock', payload);
    if (!d.ok) {
      if (this.#refused++ === 0) this.#log.warn({ errors: d.errors }, 'broker clock message refused');
      return;
    }
    if (this.#refused > 0) this.#log.info({ refused: this.#refused }, 'broker clock messages readable again');
    this.#refused = 0;
    const offsetMs = now - d.value.ts;
    const ok = Math.abs(offsetMs) <= this.#maxSkewMs;
    const was = this.#state?.ok;
    this.#state = { offsetMs, ok, checkedTs: now };
    if (!ok && was !== false) {
      // warn, not error: the gateway goes on measuring and alarming; the event tells the center.
      this.#log.warn({ offsetMs, maxSkewMs: this.#maxSkewMs }, "gateway clock is off the broker's");
      this.#onChange(offsetMs, false);
    } else if (ok && was === false) {
      this.#log.info({ offsetMs }, "gateway clock agrees with the broker's again");
      this.#onChange(offsetMs, true);
    }
  }
}
