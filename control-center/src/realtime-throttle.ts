import type { GatewayEvent, Reading, SiteLevel } from '@slopeguard/core';
import type { Alert } from './alerts/alert-store.ts';
import type { CommandRecord } from './commands/command-service.ts';
import type { GatewayUpdate, LiveBatch, SiteReadings, SiteUpdate } from './realtime-wire.ts';
import type { SiteData } from './site-monitor.ts';

/**
 * One push to browsers per window (1 s) for all sites together: the first change after a quiet
 * window goes out at once (leading edge); what arrives while the window is open is gathered and
 * goes out as ONE batch when it closes, then the window opens again. So each browser gets at most
 * one update per site per second, in one socket.io event, whatever the number of sites (sending one
 * event per thing per site cost 463 events/s per browser with 1,000 sites, and 16 s of delay).
 *
 * Gathering keeps the latest state of each thing (the data state, each gateway's status, each
 * alert, each command) and the newest reading time, so a batch is bounded by the number of sites,
 * not by how fast they change. A level is never lost: a site's `levels` holds every level it went
 * through in the window, in order. Readings go only to the browsers that have the site's page open
 * (`keepReadings`), all of them, bounded per site and window.
 */

/** The timers the batcher runs on: the system's by default, a fake clock in tests. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending flush must not keep a stopping process alive.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Level changes one site carries at most per window (a flapping site cannot grow a batch). */
export const MAX_LEVEL_CHANGES = 32;
/** Gateway events (discrete, not state) one site carries at most per window; older ones are dropped and counted. */
export const MAX_EVENTS = 50;
/** Readings of one watched site kept per window; older ones are dropped and counted (a replayed backlog). */
export const MAX_READINGS = 20_000;

interface Pending {
  levels: SiteLevel[];
  data?: SiteData;
  gateways: Map<string, GatewayUpdate>;
  lastReadingTs?: number;
  alerts: Map<number, Alert>;
  commands: Map<string, CommandRecord>;
  events: Array<GatewayEvent & { gateway: string }>;
  messages: Array<{ gateway: string; readings: Reading[] }>;
  readings: number;
  dropped: number;
}

export interface Window {
  batch: LiveBatch;
  /** Readings of the watched sites that had any. */
  readings: SiteReadings[];
}

export class LiveBatcher {
  readonly #windowMs: number;
  readonly #timers: Timers;
  readonly #now: () => number;
  readonly #emit: (w: Window) => void;
  readonly #keepReadings: (site: string) => boolean;
  #sites = new Map<string, Pending>();
  /** The open window's timer, or undefined while quiet. */
  #handle: unknown;
  /** Gateway events dropped because a site's window already held MAX_EVENTS (metrics/log). */
  droppedEvents = 0;
  /** Readings dropped because a watched site's window already held MAX_READINGS. */
  droppedReadings = 0;

  constructor(options: {
    emit: (w: Window) => void;
    /** Whether anybody watches the site (its readings are kept only then). */
    keepReadings?: (site: string) => boolean;
    windowMs?: number;
    timers?: Timers;
    now?: () => number;
  }) {
    this.#emit = options.emit;
    this.#keepReadings = options.keepReadings ?? (() => false);
    this.#windowMs = options.windowMs ?? 1000;
    this.#timers = options.timers ?? systemTimers;
    this.#now = options.now ?? Date.now;
  }

  #site(site: string): Pending {
    let p = this.#sites.get(site);
    if (!p) {
      p = {
        levels: [],
        gateways: new Map(),
        alerts: new Map(),
        commands: new Map(),
        events: [],
        messages: [],
        readings: 0,
        dropped: 0,
      };
      this.#sites.set(site, p);
    }
    return p;
  }

  /** Called after each change: leads when quiet, else waits for the window to close. */
  #changed(): void {
    if (this.#handle !== undefined) return;
    // Leading edge: the first change after a quiet window goes out now, and opens the window.
    this.#handle = this.#timers.setTimeout(() => this.#close(), this.#windowMs);
    this.#flush();
  }

  level(site: string, level: SiteLevel): void {
    const p = this.#site(site);
    p.levels.push(level);
    if (p.levels.length > MAX_LEVEL_CHANGES) p.levels.shift();
    this.#changed();
  }

  data(site: string, data: SiteData): void {
    this.#site(site).data = data;
    this.#changed();
  }

  status(site: string, gateway: GatewayUpdate): void {
    this.#site(site).gateways.set(gateway.id, gateway);
    this.#changed();
  }

  telemetry(site: string, gateway: string, readings: readonly Reading[]): void {
    if (readings.length === 0) return;
    const p = this.#site(site);
    let newest = p.lastReadingTs ?? Number.NEGATIVE_INFINITY;
    for (const r of readings) if (r.ts > newest) newest = r.ts;
    p.lastReadingTs = newest;
    if (this.#keepReadings(site)) {
      p.messages.push({ gateway, readings: [...readings] });
      p.readings += readings.length;
      while (p.readings > MAX_READINGS) {
        const first = p.messages[0];
        if (!first) break;
        const over = p.readings - MAX_READINGS;
        const cut = Math.min(over, first.readings.length);
        first.readings.splice(0, cut);
        if (first.readings.length === 0) p.messages.shift();
        p.readings -= cut;
        p.dropped += cut;
        this.droppedReadings += cut;
      }
    }
    this.#changed();
  }

  alert(a: Alert): void {
    this.#site(a.site).alerts.set(a.id, a);
    this.#changed();
  }

  command(c: CommandRecord): void {
    this.#site(c.site).commands.set(c.id, c);
    this.#changed();
  }

  event(site: string, gateway: string, e: GatewayEvent): void {
    const p = this.#site(site);
    if (p.events.length >= MAX_EVENTS) {
      p.events.shift();
      this.droppedEvents++;
    }
    p.events.push({ ...e, gateway });
    this.#changed();
  }

  #close(): void {
    if (this.#sites.size === 0) {
      // Nothing came in the window: quiet again, the next change leads.
      this.#handle = undefined;
      return;
    }
    this.#handle = this.#timers.setTimeout(() => this.#close(), this.#windowMs);
    this.#flush();
  }

  #flush(): void {
    const sites = this.#sites;
    if (sites.size === 0) return;
    this.#sites = new Map();
    const ts = this.#now();
    const updates: SiteUpdate[] = [];
    const readings: SiteReadings[] = [];
    for (const [site, p] of sites) {
      const u: SiteUpdate = { site };
      if (p.levels.length > 0) u.levels = p.levels;
      if (p.data) u.data = p.data;
      if (p.gateways.size > 0) u.gateways = [...p.gateways.values()];
      if (p.lastReadingTs !== undefined) u.lastReadingTs = p.lastReadingTs;
      if (p.alerts.size > 0) u.alerts = [...p.alerts.values()];
      if (p.commands.size > 0) u.commands = [...p.commands.values()];
      if (p.events.length > 0) u.events = p.events;
      updates.push(u);
      if (p.messages.length > 0 || p.dropped > 0) {
        const r: SiteReadings = { site, ts, messages: p.messages };
        if (p.dropped > 0) r.dropped = p.dropped;
        readings.push(r);
      }
    }
    this.#emit({ batch: { ts, sites: updates }, readings });
  }

  /** Sends what is pending now and stops the timer (shutdown). */
  flushAll(): void {
    if (this.#handle !== undefined) this.#timers.clearTimeout(this.#handle);
    this.#handle = undefined;
    this.#flush();
  }
}
