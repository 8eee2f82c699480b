import type { Logger } from 'pino';

/** Where the broker publishes its time, `{"ts": epoch_ms}` every 10 s at QoS 0. */
export const CLOCK_TOPIC = 'slopeguard/v1/clock';

export interface ClockState {
  /** Gateway clock minus broker clock, ms (positive: the gateway is ahead); null before the first tick. */
  offsetMs: number | null;
  /** |offsetMs| <= maxSkewMs; null before the first tick. */
  ok: boolean | null;
}

/**
 * The gateway checks its own clock against the broker's. A gateway without an RTC battery boots in
 * 1970 or wherever its image was built, and without NTP it stays there: its readings would carry
 * wrong times that the broker and control center refuse, and nobody would know why. The offset is
 * measured on each broker tick (the message's transit time, tens of ms, is inside the offset; the skew
 * allowed is minutes); a change to faulty raises `onFault` once, until the clock is right again.
 */
export class ClockCheck {
  readonly #log: Logger;
  readonly #onFault: (offsetMs: number, maxSkewMs: number) => void;
  #maxSkewMs: number;
  #state: ClockState = { offsetMs: null, ok: null };
  /** Malformed ticks in a row: the first is logged, the rest counted until a good one. */
  #refused = 0;

  constructor(maxSkewMs: number, log: Logger, onFault: (offsetMs: number, maxSkewMs: number) => void) {
    this.#maxSkewMs = maxSkewMs;
    this.#log = log;
    this.#onFault = onFault;
  }

  set maxSkewMs(ms: number) {
    this.#maxSkewMs = ms;
  }

  get state(): ClockState {
    return { ...this.#state };
  }

  /** A message on CLOCK_TOPIC, received at gateway time `now`. Anything but `{"ts": epoch ms}` is ignored. */
  onTick(payload: Buffer, now: number): void {
    const ts = brokerTime(payload);
    if (ts === undefined) {
      if (this.#refused++ === 0) this.#log.warn({ bytes: payload.length }, 'broker clock message refused');
      return;
    }
    if (this.#refused > 0) this.#log.info({ refused: this.#refused }, 'broker clock messages readable again');
    this.#refused = 0;
    const offsetMs = now - ts;
    const ok = Math.abs(offsetMs) <= this.#maxSkewMs;
    const was = this.#state.ok;
    this.#state = { offsetMs, ok };
    if (!ok && was !== false) {
      this.#log.error({ offsetMs, maxSkewMs: this.#maxSkewMs }, "gateway clock is off the broker's");
      this.#onFault(offsetMs, this.#maxSkewMs);
    } else if (ok && was === false) {
      this.#log.info({ offsetMs }, "gateway clock agrees with the broker's again");
    }
  }
}

function brokerTime(payload: Buffer): number | undefined {
  if (payload.length > 256) return undefined;
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const keys = Object.keys(v);
    const ts = (v as { ts?: unknown }).ts;
    if (keys.length !== 1 || typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) return undefined;
    return ts;
  } catch {
    return undefined;
  }
}
