import { DEFAULT_MAX_CLOCK_AHEAD_MS } from '@slopeguard/core';
import type { Client } from 'aedes';

export interface Limits {
  /** Largest MQTT packet accepted (remaining length), bytes. A larger one closes the connection. */
  maxPacketBytes: number;
  /** Deepest topic accepted; the contract's deepest is 6 (`slopeguard/v1/s/g/cmd/ack`). */
  maxTopicLevels: number;
  /**
   * Longest client id accepted, every protocol version (CONNACK 2). The longest username is 127
   * characters (`{site}.{gateway}`, ids of at most 63); this leaves room for a `-suffix`.
   */
  maxClientIdLength: number;
  /** Successful CONNECTs per account: sustained rate per minute and burst (failures do not count). */
  connectsPerMinute: number;
  connectBurst: number;
  /** PUBLISHes per account: sustained rate per second and burst. */
  messagesPerSecond: number;
  messageBurst: number;
  /**
   * Readings per account (per gateway): sustained rate per second and burst. Counted on top of
   * the message rate, because one message may carry up to 1,000 readings. Over it, the PUBLISH is
   * held like an over-rate message (closed past maxThrottleMs).
   */
  readingsPerSecond: number;
  readingBurst: number;
  /**
   * Distinct sensor ids a gateway may report (since the broker started). Readings of further
   * sensors are refused and counted (reason `sensors`); the other readings of the message are stored.
   */
  maxSensorsPerGateway: number;
  /**
   * Readings whose `ts` is more than this ahead of the broker's clock are refused and counted
   * (reason `future`); the other readings of the message are stored.
   */
  maxClockSkewMs: number;
  /**
   * Failed logins per remote address: sustained rate per minute and burst. Past it, CONNECTs from
   * that address are refused at once, before the (deliberately slow) secret check, so that
   * guessing usernames cannot keep the CPU busy with scrypt.
   */
  failedAuthPerMinutePerAddress: number;
  failedAuthBurst: number;
  /**
   * A publisher over its rate is slowed down (its PUBLISH is held, so TCP back-pressure applies);
   * if it would have to wait longer than this, the connection is closed instead.
   */
  maxThrottleMs: number;
}

export const DEFAULT_LIMITS: Limits = {
  // 1,000 readings of ~150 bytes is the largest valid telemetry message; 256 KiB leaves room.
  maxPacketBytes: 256 * 1024,
  maxTopicLevels: 8,
  maxClientIdLength: 192,
  connectsPerMinute: 30,
  connectBurst: 10,
  messagesPerSecond: 200,
  messageBurst: 2000,
  // 100 sensors reading every second is 100 readings/s. A gateway catching up after an outage (or
  // the demo's history) sends 1,000-reading messages back to back: 10,000/s lets it drain a day of
  // 10 sensors at 1 Hz in under 90 s, while one gateway stays well below what the store takes
  // (~60,000/s for SQLite), so it cannot slow everyone else's PUBACKs as in issue 9 (159,200/s).
  readingsPerSecond: 10_000,
  readingBurst: 100_000,
  maxSensorsPerGateway: 256,
  maxClockSkewMs: DEFAULT_MAX_CLOCK_AHEAD_MS,
  failedAuthPerMinutePerAddress: 30,
  failedAuthBurst: 30,
  maxThrottleMs: 10_000,
};

/**
 * A token bucket in "reservation" form: `reserve()` takes one token and returns how long the caller
 * must wait for it (0 if one was available). Time comes from `now` so tests can drive it.
 */
export class TokenBucket {
  #ratePerMs: number;
  #burst: number;
  #now: () => number;
  #tokens: number;
  #at: number;

  constructor(ratePerSecond: number, burst: number, now: () => number = Date.now) {
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = Math.max(1, burst);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#at = now();
  }

  reserve(n = 1): number {
    const t = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (t - this.#at) * this.#ratePerMs);
    this.#at = t;
    this.#tokens -= n;
    return this.#tokens >= 0 ? 0 : -this.#tokens / this.#ratePerMs;
  }

  /** Gives back a token reserved by `reserve()` that was not used (the request was refused). */
  refund(n = 1): void {
    this.#tokens = Math.min(this.#burst, this.#tokens + n);
  }

  /** True if a token is available now (takes none). */
  available(): boolean {
    const t = this.#now();
    return Math.min(this.#burst, this.#tokens + (t - this.#at) * this.#ratePerMs) >= 1;
  }

  /** Takes a token only if one is available now. */
  tryTake(): boolean {
    const t = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (t - this.#at) * this.#ratePerMs);
    this.#at = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/** Buckets keyed by account, dropped when idle long enough to be full again (bounded memory). */
export class BucketMap {
  #buckets = new Map<string, { bucket: TokenBucket; used: number }>();
  #make: () => TokenBucket;
  #idleMs: number;
  #now: () => number;

  constructor(make: () => TokenBucket, idleMs: number, now: () => number = Date.now) {
    this.#make = make;
    this.#idleMs = idleMs;
    this.#now = now;
  }

  get(key: string): TokenBucket {
    const t = this.#now();
    let e = this.#buckets.get(key);
    if (!e) {
      if (this.#buckets.size > 10_000) {
        for (const [k, v] of this.#buckets) if (t - v.used > this.#idleMs) this.#buckets.delete(k);
      }
      e = { bucket: this.#make(), used: t };
      this.#buckets.set(key, e);
    }
    e.used = t;
    return e.bucket;
  }
}

interface ParserInternals {
  _parser: {
    packet: { length: number };
    _parseLength(): boolean;
    _emitError(err: Error): boolean;
  };
}

/**
 * Aedes has no packet size limit and mqtt-packet buffers a whole packet before parsing it, so a
 * client announcing a 256 MB remaining length would make the broker hold that much. This hooks the
 * connection's parser (an mqtt-packet internal, pinned by the test in limits.test.ts) so that the
 * remaining length is checked as soon as it is decoded [MQTT-2.2.3], before the body is read.
 */
export function guardPacketSize(
  client: Client,
  maxBytes: number,
  onTooLarge: (length: number) => void,
): void {
  const parser = (client as unknown as ParserInternals)._parser;
  const parseLength = parser._parseLength;
  parser._parseLength = function guardedParseLength(this: ParserInternals['_parser']) {
    const done = parseLength.call(this);
    if (done && this.packet.length > maxBytes) {
      onTooLarge(this.packet.length);
      return this._emitError(new Error(`packet of ${this.packet.length} bytes exceeds ${maxBytes}`));
    }
    return done;
  };
}
