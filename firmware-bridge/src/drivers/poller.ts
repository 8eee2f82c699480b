import type { Logger } from 'pino';

/**
 * Runs poll tasks one after the other (a serial bus carries one transaction at a time), each at its
 * own interval, first poll at start. A task never throws into the loop: tasks catch their own
 * errors, and the loop guards against one that does not.
 */
export interface PollTask {
  id: string;
  intervalMs: number;
  run(): Promise<void>;
}

export class Poller {
  private readonly tasks: Array<PollTask & { due: number; readonly configuredMs: number }>;
  private readonly now: () => number;
  private running = false;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private readonly onTaskError: (id: string, err: unknown) => void;

  constructor(
    tasks: readonly PollTask[],
    onTaskError: (id: string, err: unknown) => void,
    now = () => performance.now(),
  ) {
    this.now = now;
    this.onTaskError = onTaskError;
    this.tasks = tasks.map((t) => ({ ...t, due: 0, configuredMs: t.intervalMs }));
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const t0 = this.now();
    for (const t of this.tasks) t.due = t0;
    this.loop = this.run();
  }

  /**
   * Faster than the fastest configured task: every task polls every `ms`. Otherwise every task goes
   * back to its own configured interval, so edge restores a bus of 10 s and 60 s sensors by passing
   * the normal interval it computed (the fastest, 10 s) without flattening both to 10 s.
   */
  setIntervalMs(ms: number): void {
    const t = this.now();
    const fastest = Math.min(...this.tasks.map((x) => x.configuredMs));
    for (const task of this.tasks) {
      task.intervalMs = ms < fastest ? ms : task.configuredMs;
      task.due = Math.min(task.due, t + task.intervalMs);
    }
    this.kick();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const next = this.tasks.reduce((a, b) => (b.due < a.due ? b : a));
      const wait = next.due - this.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          this.timer = setTimeout(resolve, wait);
        });
        this.wake = undefined;
        continue;
      }
      try {
        await next.run();
      } catch (err) {
        this.onTaskError(next.id, err);
      }
      // Keep the cadence; after a long stall do not fire a burst of catch-up polls.
      next.due = Math.max(next.due + next.intervalMs, this.now());
    }
  }
}

/** Intervals below 50 ms would starve the bus; the driver never throws at its caller, so it clamps. */
export function clampInterval(ms: number, log: Logger): number {
  if (Number.isFinite(ms) && ms >= 50) return ms;
  log.warn({ ms }, 'sampling interval clamped to 50 ms');
  return 50;
}
