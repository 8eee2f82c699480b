import { type Static, Type } from '@sinclair/typebox';
import { EpochMs } from './reading.ts';

/**
 * `slopeguard/v1/clock`: the broker's time, published every few seconds (QoS 0, not retained), so
 * that a gateway without a real-time clock or NTP can tell that its own clock is wrong.
 */
export const BrokerClock = Type.Object({ ts: EpochMs }, { additionalProperties: false });
export type BrokerClock = Static<typeof BrokerClock>;

/**
 * How far ahead of the receiver's clock a reading's time may be. Readings further ahead are refused
 * by the gateway, the broker and the control center: one reading from a gateway whose clock says
 * 2099 would otherwise move its site's rules into the future.
 */
export const DEFAULT_MAX_CLOCK_AHEAD_MS = 5 * 60_000;

/** True when `ts` is further ahead of `now` than `maxAheadMs`. */
export function isAhead(ts: number, now: number, maxAheadMs = DEFAULT_MAX_CLOCK_AHEAD_MS): boolean {
  return ts - now > maxAheadMs;
}
