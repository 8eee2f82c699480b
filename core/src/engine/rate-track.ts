import { medianInPlace } from './stats.ts';

/**
 * A robust rate over a time window, in O(1) per reading and bounded memory at any sampling rate.
 *
 * Readings are averaged into fixed bins aligned to multiples of `binMs` since the epoch (so the
 * gateway and the control center bin identically, and a resumed engine bins as before). A window of
 * K bins gives K-1 sub-interval rates between consecutive non-empty bins; the rate is their MEDIAN.
 * A knocked sensor (a step) moves one or two sub-interval rates and a spike two of opposite sign, so
 * neither moves the median; genuine movement moves all of them. A rule that must be SUSTAINED for
 * the window takes the smallest sub-interval rate instead (in the direction of the median): every
 * sub-interval must reach the threshold, and an outlier can only lower it, never raise it. When the sampling interval is longer
 * than a bin, the window widens back in time until it holds `minBins` non-empty bins (the ring is
 * sized for the longest interval the engine supports).
 *
 * The state is plain arrays so that it serialises to JSON exactly.
 */
export interface TrackState {
  binMs: number;
  cap: number;
  /** Index (ts / binMs, floored) of the newest bin with data, or -1. */
  head: number;
  /** Per slot: readings, sum of (ts - bin start), sum of values. */
  n: number[];
  st: number[];
  sv: number[];
  /**
   * Not saved (derived): the newest bin's slot and the times it covers for sure, so that a reading
   * in it is added without a division and a remainder. `lo` is +Infinity when not known.
   */
  slot: number;
  lo: number;
  hi: number;
}

export function newTrack(binMs: number, cap: number): TrackState {
  return {
    binMs,
    cap,
    head: -1,
    n: new Array<number>(cap).fill(0),
    st: new Array<number>(cap).fill(0),
    sv: new Array<number>(cap).fill(0),
    slot: 0,
    lo: Number.POSITIVE_INFINITY,
    hi: 0,
  };
}

/** Adds a reading (ts non-decreasing). Returns true when it opened a new bin. */
export function addToTrack(t: TrackState, ts: number, v: number): boolean {
  if (ts >= t.lo && ts <= t.hi) {
    // In the newest bin: exactly what the general path below does for idx === head (see `hi`).
    const s = t.slot;
    t.n[s] = (t.n[s] as number) + 1;
    t.st[s] = (t.st[s] as number) + (ts - t.lo);
    t.sv[s] = (t.sv[s] as number) + v;
    return false;
  }
  const idx = Math.floor(ts / t.binMs);
  let opened = false;
  if (idx > t.head) {
    // Clear the slots of every bin skipped since the last reading (at most the whole ring).
    const from = t.head < 0 ? idx : Math.max(t.head + 1, idx - t.cap + 1);
    for (let i = from; i <= idx; i++) {
      const s = i % t.cap;
      t.n[s] = 0;
      t.st[s] = 0;
      t.sv[s] = 0;
    }
    opened = t.head >= 0;
    t.head = idx;
  } else if (idx < t.head) {
    return false; // older than the newest bin: the caller rejects these; never corrupt a closed bin
  }
  const s = idx % t.cap;
  t.n[s] = (t.n[s] as number) + 1;
  t.st[s] = (t.st[s] as number) + (ts - idx * t.binMs);
  t.sv[s] = (t.sv[s] as number) + v;
  if (idx === t.head && Number.isInteger(t.binMs) && (idx + 1) * t.binMs < 2 ** 52) {
    // Times that floor into this bin for certain: from its start to 1 ms before the next bin's
    // (with whole-millisecond bins, the quotient of a time below 2^52 cannot round up across a
    // whole millisecond).
    t.slot = s;
    t.lo = idx * t.binMs;
    t.hi = (idx + 1) * t.binMs - 1;
  }
  return opened;
}

export interface RateOut {
  /** Change per hour. */
  perHour: number;
  /** Time between the means of the oldest and newest bins used. */
  spanMs: number;
  /** Mean time of the newest bin used. */
  endMs: number;
}

const ts: number[] = [];
const vs: number[] = [];
const rates: number[] = [];

/**
 * Median sub-interval rate over the `windowBins` bins ending at `endIdx` (inclusive), or null when
 * the data do not cover the window (too few non-empty bins, or none near its start).
 */
export function windowRate(
  t: TrackState,
  endIdx: number,
  windowBins: number,
  minBins: number,
  sustained: boolean,
  out: RateOut,
): boolean {
  if (t.head < 0) return false;
  const oldest = Math.max(t.head - t.cap + 1, 0);
  const windowStart = endIdx - windowBins + 1;
  let count = 0;
  let firstIdx = endIdx + 1;
  for (let i = Math.min(endIdx, t.head); i >= oldest; i--) {
    if (i < windowStart && count >= minBins) break;
    const s = i % t.cap;
    const n = t.n[s] as number;
    if (n === 0) continue;
    ts[count] = i * t.binMs + (t.st[s] as number) / n;
    vs[count] = (t.sv[s] as number) / n;
    count++;
    firstIdx = i;
  }
  // The first bin of a median window may be empty (sampling phase); anything later means the data
  // start inside the window and the rate would not be over the whole window.
  if (count < minBins || firstIdx > windowStart + (sustained ? 0 : 1)) return false;
  // Collected newest first; rates between consecutive bins.
  for (let j = 0; j < count - 1; j++) {
    const dt = (ts[j] as number) - (ts[j + 1] as number);
    rates[j] = dt > 0 ? ((vs[j] as number) - (vs[j + 1] as number)) / dt : 0;
  }
  const n = count - 1;
  const median = medianInPlace(rates, n); // sorts rates[0..n)
  // Sustained: the sub-interval rate nearest zero on the median's side (0 when any went the other way).
  const lo = rates[0] as number;
  const hi = rates[n - 1] as number;
  const rate = !sustained ? median : median >= 0 ? Math.max(lo, 0) : Math.min(hi, 0);
  out.perHour = rate * 3_600_000;
  out.spanMs = (ts[0] as number) - (ts[count - 1] as number);
  out.endMs = ts[0] as number;
  return true;
}

/**
 * Velocity over the last `over` steps between non-empty bins ending at `endIdx`: (v_new - v_old) /
 * (t_new - t_old), a moving average that smooths the inverse-velocity series (Carla et al. 2017).
 */
export function recentVelocity(t: TrackState, endIdx: number, over: number, out: RateOut): boolean {
  if (t.head < 0) return false;
  const oldest = Math.max(t.head - t.cap + 1, 0);
  let count = 0;
  let tNew = 0;
  let vNew = 0;
  for (let i = Math.min(endIdx, t.head); i >= oldest; i--) {
    const s = i % t.cap;
    const n = t.n[s] as number;
    if (n === 0) continue;
    const tm = i * t.binMs + (t.st[s] as number) / n;
    const vm = (t.sv[s] as number) / n;
    if (count === 0) {
      tNew = tm;
      vNew = vm;
    } else if (count === over) {
      out.perHour = ((vNew - vm) / (tNew - tm)) * 3_600_000;
      out.spanMs = tNew - tm;
      out.endMs = tNew;
      return tNew > tm;
    }
    count++;
  }
  return false;
}
