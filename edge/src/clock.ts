/**
 * The gateway's time source. Production runs on the system clock; tests and benchmarks run it faster
 * (`--time-scale`) so that a simulated hour of outage takes seconds. Simulated time is a pure function
 * of real time (start + (real - anchor) * scale), so a restarted process continues on the same
 * timeline and never reissues a timestamp, which matters for the kill -9 tests.
 */
export interface Clock {
  now(): number;
  /** Simulated milliseconds per real millisecond (1 in production). */
  readonly scale: number;
}

export const systemClock: Clock = { now: () => Date.now(), scale: 1 };

export function scaledClock(scale: number, start: number, anchor: number): Clock {
  if (!(scale > 0)) throw new RangeError('time scale must be > 0');
  return { now: () => Math.floor(start + (Date.now() - anchor) * scale), scale };
}

/** Real milliseconds to wait for `simMs` of simulated time (at least 1). */
export function realDelay(clock: Clock, simMs: number): number {
  return Math.max(1, Math.round(simMs / clock.scale));
}
