import type { Level } from '@slopeguard/core';
import type { Logger } from 'pino';
import type { Clock } from './clock.ts';
import type { Output } from './outputs/index.ts';

/**
 * Decides what the local outputs do. The effective level is max(local, official) while the official
 * level is fresh: the control center can raise the alarm at this site (it sees more sensors) but cannot
 * silence a level this gateway measured itself; that takes an explicit release of the local level.
 * The official level is fresh while the uplink is connected and for `holdMs` after it drops (a
 * retained level message carries the time it was set, not the time it was last confirmed, so its age
 * says nothing about whether it is still valid).
 */
export interface AlarmOptions {
  follow: boolean;
  holdMs: number;
}

export class Alarm {
  readonly #outputs: Output[];
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #opts: AlarmOptions;
  #local: Level = 0;
  #official: Level | undefined;
  #linkDownSince: number | undefined = 0;
  #tests = new Map<string, number>();
  #testTimer: NodeJS.Timeout | undefined;

  constructor(outputs: Output[], clock: Clock, log: Logger, opts: AlarmOptions) {
    this.#outputs = outputs;
    this.#clock = clock;
    this.#log = log;
    this.#opts = opts;
  }

  get local(): Level {
    return this.#local;
  }

  get official(): Level | undefined {
    return this.#official;
  }

  setLocal(level: Level): void {
    this.#local = level;
    this.apply('local level');
  }

  setOfficial(level: Level): void {
    this.#official = level;
    this.apply('official level');
  }

  setLink(up: boolean): void {
    this.#linkDownSince = up ? undefined : (this.#linkDownSince ?? this.#clock.now());
    this.apply(up ? 'uplink up' : 'uplink down');
  }

  officialFresh(): boolean {
    if (!this.#opts.follow || this.#official === undefined) return false;
    if (this.#linkDownSince === undefined) return true;
    return this.#clock.now() - this.#linkDownSince < this.#opts.holdMs;
  }

  effective(): Level {
    const official = this.officialFresh() ? (this.#official ?? 0) : 0;
    return Math.max(this.#local, official) as Level;
  }

  /** Switches outputs to match the effective level; called on every change and periodically. */
  apply(reason: string): void {
    const level = this.effective();
    const now = this.#clock.now();
    for (const o of this.#outputs) {
      const testing = (this.#tests.get(o.id) ?? 0) > now;
      o.set(level >= o.atLevel || testing, testing ? 'test' : `${reason}: effective level ${level}`);
    }
  }

  /** Sounds outputs (all, or the one named) for `seconds`, then returns them to what the level says. */
  test(seconds: number, outputId?: string): string[] {
    const targets = this.#outputs.filter((o) => outputId === undefined || o.id === outputId);
    const until = this.#clock.now() + seconds * 1000;
    for (const o of targets) this.#tests.set(o.id, until);
    this.#log.info({ outputs: targets.map((o) => o.id), seconds }, 'output test');
    this.apply('test');
    if (this.#testTimer) clearTimeout(this.#testTimer);
    this.#testTimer = setTimeout(
      () => this.apply('test over'),
      Math.max(1, (seconds * 1000) / this.#clock.scale) + 5,
    );
    return targets.map((o) => o.id);
  }

  states(): Record<string, ReturnType<Output['state']> & { atLevel: number }> {
    return Object.fromEntries(this.#outputs.map((o) => [o.id, { ...o.state(), atLevel: o.atLevel }]));
  }

  async close(): Promise<void> {
    if (this.#testTimer) clearTimeout(this.#testTimer);
    await Promise.all(this.#outputs.map((o) => o.close()));
  }
}
