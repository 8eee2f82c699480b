/**
 * The time source of the outbox and the escalation: `now()` in epoch milliseconds and one-shot
 * timers. Production uses the system clock; tests hand in a fake clock they advance by hand, so a
 * 30-minute escalation runs in microseconds and no test sleeps.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

/** Opaque handle of a scheduled callback. */
export type ClockTimer = { readonly __clockTimer: true } | object;

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending retry or reminder must not keep a process alive that is otherwise shutting down.
    t.unref();
    return t;
  },
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
