/**
 * At most one push to browsers per site per window (1 s): the first change of a quiet site goes
 * out at once (leading edge); what arrives while the window is open is coalesced and goes out as
 * one flush when it closes, then the window opens again. Coalescing keeps the latest state of each
 * thing (the level, the data state, each gateway's status, each alert, each command; the newest
 * reading of each sensor), so a flush is bounded by what a site has, not by how fast it changes.
 * A level is never lost: the coalesced `level` carries the latest level and, in `changes`, every
 * level the site went through in the window, in order.
 */

/** The timers the throttle runs on: the system's by default, a fake clock in tests. */
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

/** One socket.io event: its name and payload. */
export interface Push {
  event: string;
  payload: unknown;
}

/** Level changes a coalesced level push carries at most (a flapping site cannot grow a flush). */
export const MAX_LEVEL_CHANGES = 32;
/** Gateway events (discrete, not state) a flush carries at most; older ones are dropped and counted. */
export const MAX_EVENTS = 50;

type Reading = { sensor: string; ts: number };
type Site = { handle: unknown; pending: Map<string, Push>; events: Push[] };

const gatewayOf = (p: unknown) => String((p as { gateway?: unknown }).gateway ?? '');

/**
 * The coalescing key of a push: pushes with the same key in one window replace each other (merge
 * for telemetry); undefined means "keep each one" (gateway events).
 */
function keyOf(event: string, payload: unknown): string | undefined {
  switch (event) {
    case 'telemetry':
    case 'status':
      return `${event}\u0000${gatewayOf(payload)}`;
    case 'alert':
    case 'command':
      return `${event}\u0000${String((payload as { id?: unknown }).id ?? '')}`;
    case 'event':
      return undefined;
    default:
      // level, site-data and anything else: one state per site.
      return event;
  }
}

/** Telemetry of one gateway in a window: the newest reading per sensor, the latest seq. */
function mergeTelemetry(older: Push, newer: Push): Push {
  type T = { site: string; gateway: string; message: { seq: number; readings: Reading[] } };
  const a = older.payload as T;
  const b = newer.payload as T;
  const bySensor = new Map<string, Reading>();
  for (const r of [...a.message.readings, ...b.message.readings]) {
    const had = bySensor.get(r.sensor);
    if (!had || r.ts >= had.ts) bySensor.set(r.sensor, r);
  }
  return {
    event: 'telemetry',
    payload: { ...b, message: { ...b.message, readings: [...bySensor.values()] } },
  };
}

type L = { site: string; message: unknown; changes?: unknown[] };

function firstLevel(p: Push): Push {
  const l = p.payload as L;
  return { event: 'level', payload: { ...l, changes: [l.message] } };
}

function mergeLevel(older: Push, newer: Push): Push {
  const a = older.payload as L;
  const b = newer.payload as L;
  const changes = [...(a.changes ?? [a.message]), b.message].slice(-MAX_LEVEL_CHANGES);
  return { event: 'level', payload: { ...b, changes } };
}

export class SiteThrottle {
  readonly #windowMs: number;
  readonly #timers: Timers;
  readonly #emit: (site: string, pushes: Push[]) => void;
  readonly #sites = new Map<string, Site>();
  /** Gateway events dropped because a flush already held MAX_EVENTS (for the metrics/log). */
  droppedEvents = 0;

  constructor(options: {
    emit: (site: string, pushes: Push[]) => void;
    windowMs?: number;
    timers?: Timers;
  }) {
    this.#emit = options.emit;
    this.#windowMs = options.windowMs ?? 1000;
    this.#timers = options.timers ?? systemTimers;
  }

  push(site: string, event: string, payload: unknown): void {
    const open = this.#sites.get(site);
    if (!open) {
      // Leading edge: a quiet site's first change goes out now, and opens the window.
      this.#sites.set(site, this.#window(site));
      this.#emit(site, [{ event, payload }]);
      return;
    }
    const key = keyOf(event, payload);
    const next: Push = { event, payload };
    if (key === undefined) {
      if (open.events.length >= MAX_EVENTS) {
        open.events.shift();
        this.droppedEvents++;
      }
      open.events.push(next);
      return;
    }
    const had = open.pending.get(key);
    if (!had) open.pending.set(key, event === 'level' ? firstLevel(next) : next);
    else if (event === 'telemetry') open.pending.set(key, mergeTelemetry(had, next));
    else if (event === 'level') open.pending.set(key, mergeLevel(had, next));
    else open.pending.set(key, next);
  }

  #window(site: string): Site {
    const handle = this.#timers.setTimeout(() => this.#close(site), this.#windowMs);
    return { handle, pending: new Map(), events: [] };
  }

  #close(site: string): void {
    const s = this.#sites.get(site);
    if (!s) return;
    if (s.pending.size === 0 && s.events.length === 0) {
      // Nothing came in the window: the site is quiet again, its next change leads.
      this.#sites.delete(site);
      return;
    }
    this.#sites.set(site, this.#window(site));
    this.#emit(site, [...s.pending.values(), ...s.events]);
  }

  /** Sends what is pending now and stops every timer (shutdown). */
  flushAll(): void {
    for (const [site, s] of this.#sites) {
      this.#timers.clearTimeout(s.handle);
      if (s.pending.size > 0 || s.events.length > 0) this.#emit(site, [...s.pending.values(), ...s.events]);
    }
    this.#sites.clear();
  }
}
