/**
 * Time source for reading timestamps (epoch ms). Edge injects its own so that tests and replays can
 * control time; a plain function and an object with `now()` (as `Date`, `performance`-like clocks) are
 * both accepted.
 */
export type Clock = (() => number) | { now(): number };

export function nowFn(clock: Clock | undefined): () => number {
  if (clock === undefined) return Date.now;
  if (typeof clock === 'function') return clock;
  return () => clock.now();
}
