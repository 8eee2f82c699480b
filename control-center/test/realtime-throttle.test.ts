import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../src/alerts/alert-store.ts';
import type { CommandRecord } from '../src/commands/command-service.ts';
import {
  LiveBatcher,
  MAX_EVENTS,
  MAX_LEVEL_CHANGES,
  MAX_READINGS,
  type Timers,
  type Window,
} from '../src/realtime-throttle.ts';
import type { SiteData } from '../src/site-monitor.ts';

/**
 * Issue 10: socket.io pushes at most one update per site per second: ONE batch per window for all
 * sites, coalesced, with the leading edge at once and no level change lost; the readings of a
 * watched site, all of them, bounded. On a fake clock: nothing here waits.
 */
class FakeClock implements Timers {
  now = 0;
  #seq = 0;
  readonly #due = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#due.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#due.delete(handle as number);
  }
  /** Moves the clock to `to`, running every timer due on the way in time order. */
  advanceTo(to: number): void {
    for (;;) {
      const next = [...this.#due.entries()].sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0];
      if (!next || next[1].at > to) break;
      this.#due.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = to;
  }
  get pending(): number {
    return this.#due.size;
  }
}

function setup(watched: ReadonlySet<string> = new Set()) {
  const clock = new FakeClock();
  const windows: Array<Window & { at: number }> = [];
  const batcher = new LiveBatcher({
    timers: clock,
    now: () => clock.now,
    keepReadings: (site) => watched.has(site),
    emit: (w) => windows.push({ ...w, at: clock.now }),
  });
  return { clock, windows, batcher };
}

const reading = (sensor: string, ts: number, x: number) => ({
  sensor,
  kind: 'tilt' as const,
  ts,
  values: { x, y: 0 },
});
const level = (n: number, ts: number) => ({ level: n as 0 | 1 | 2 | 3 | 4, ts, reasons: [] });
const data = (state: SiteData['state'], since: number): SiteData => ({ state, reasons: [], since });
const alert = (id: number, site: string, acknowledged: boolean) =>
  ({ id, site, level: 1, acknowledged }) as unknown as Alert;
const command = (id: string, site: string, status: string) =>
  ({ id, site, status }) as unknown as CommandRecord;

describe('live batches: one push per window for all sites', () => {
  it('sends the first change after a quiet window at once, then gathers the window into one batch', () => {
    const { clock, windows, batcher } = setup();
    batcher.telemetry('s1', 'gw-1', [reading('t1', 0, 0.1)]);
    expect(windows).toHaveLength(1);
    expect(windows[0]?.batch).toEqual({ ts: 0, sites: [{ site: 's1', lastReadingTs: 0 }] });

    clock.advanceTo(100);
    batcher.telemetry('s1', 'gw-1', [reading('t1', 100, 0.2), reading('t2', 90, 5)]);
    batcher.telemetry('s2', 'gw-1', [reading('t1', 50, 1)]);
    clock.advanceTo(400);
    batcher.status('s1', { id: 'gw-1', state: 'offline', at: 300 });
    batcher.status('s1', { id: 'gw-1', state: 'online', at: 400 });
    batcher.data('s2', data('degraded', 400));
    batcher.data('s2', data('live', 400));
    clock.advanceTo(999);
    expect(windows).toHaveLength(1);
    clock.advanceTo(1000);
    expect(windows).toHaveLength(2);
    expect(windows[1]).toEqual({
      at: 1000,
      batch: {
        ts: 1000,
        sites: [
          { site: 's1', lastReadingTs: 100, gateways: [{ id: 'gw-1', state: 'online', at: 400 }] },
          { site: 's2', lastReadingTs: 50, data: data('live', 400) },
        ],
      },
      // Nobody watches either site: no readings kept or sent.
      readings: [],
    });
  });

  it('carries every level of the window, in order, the last one current', () => {
    const { clock, windows, batcher } = setup();
    batcher.level('s1', level(1, 0));
    clock.advanceTo(200);
    batcher.level('s1', level(3, 200));
    clock.advanceTo(300);
    batcher.level('s1', level(2, 300));
    clock.advanceTo(1000);
    expect(windows.map((w) => w.batch.sites)).toEqual([
      [{ site: 's1', levels: [level(1, 0)] }],
      [{ site: 's1', levels: [level(3, 200), level(2, 300)] }],
    ]);
  });

  it('bounds the levels of a flapping site, keeping the newest', () => {
    const { clock, windows, batcher } = setup();
    batcher.level('s1', level(0, 0));
    for (let i = 1; i <= MAX_LEVEL_CHANGES + 3; i++) batcher.level('s1', level(i % 2, i));
    clock.advanceTo(1000);
    const levels = windows[1]?.batch.sites[0]?.levels ?? [];
    expect(levels).toHaveLength(MAX_LEVEL_CHANGES);
    expect(levels.at(-1)).toEqual(level((MAX_LEVEL_CHANGES + 3) % 2, MAX_LEVEL_CHANGES + 3));
  });

  it('goes quiet after an empty window: the next change leads again', () => {
    const { clock, windows, batcher } = setup();
    batcher.level('s1', level(1, 0));
    clock.advanceTo(1000); // the window closes empty
    expect(clock.pending).toBe(0);
    clock.advanceTo(1500);
    batcher.level('s2', level(2, 1500));
    expect(windows.map((w) => w.at)).toEqual([0, 1500]);
  });

  it('gathers all sites into the same batch, whenever in the window they changed', () => {
    const { clock, windows, batcher } = setup();
    batcher.level('s1', level(1, 0));
    clock.advanceTo(500);
    batcher.level('s2', level(1, 500));
    clock.advanceTo(600);
    batcher.level('s1', level(2, 600));
    for (let i = 0; i < 1000; i++) batcher.data(`x${i}`, data('live', 600));
    expect(windows).toHaveLength(1);
    clock.advanceTo(1000);
    expect(windows).toHaveLength(2);
    expect(windows[1]?.batch.sites.map((u) => u.site).slice(0, 3)).toEqual(['s2', 's1', 'x0']);
    expect(windows[1]?.batch.sites).toHaveLength(1002);
  });

  it('keeps each alert and command by id, and at most MAX_EVENTS gateway events per site', () => {
    const { clock, windows, batcher } = setup();
    batcher.level('s1', level(1, 0));
    batcher.alert(alert(1, 's1', false));
    batcher.alert(alert(2, 's1', false));
    batcher.alert(alert(1, 's1', true));
    batcher.command(command('c1', 's1', 'sent'));
    batcher.command(command('c1', 's1', 'acked'));
    for (let i = 0; i < MAX_EVENTS + 5; i++) batcher.event('s1', 'gw-1', { type: 'x', ts: i } as never);
    clock.advanceTo(1000);
    const u = windows[1]?.batch.sites[0];
    expect(u?.alerts).toEqual([alert(1, 's1', true), alert(2, 's1', false)]);
    expect(u?.commands).toEqual([command('c1', 's1', 'acked')]);
    expect(u?.events).toHaveLength(MAX_EVENTS);
    expect(u?.events?.[0]).toMatchObject({ gateway: 'gw-1', ts: 5 });
    expect(batcher.droppedEvents).toBe(5);
  });

  it('sends every reading of a watched site, in arrival order, bounded per window', () => {
    const { clock, windows, batcher } = setup(new Set(['open']));
    batcher.level('s1', level(0, 0));
    batcher.telemetry('open', 'gw-1', [reading('t1', 1, 1), reading('t2', 1, 2)]);
    batcher.telemetry('open', 'gw-2', [reading('t1', 2, 3)]);
    batcher.telemetry('other', 'gw-1', [reading('t1', 2, 3)]);
    clock.advanceTo(1000);
    expect(windows[1]?.readings).toEqual([
      {
        site: 'open',
        ts: 1000,
        messages: [
          { gateway: 'gw-1', readings: [reading('t1', 1, 1), reading('t2', 1, 2)] },
          { gateway: 'gw-2', readings: [reading('t1', 2, 3)] },
        ],
      },
    ]);
    // A replayed backlog larger than the bound: the newest MAX_READINGS go, the rest are counted.
    const backlog = Array.from({ length: MAX_READINGS + 7 }, (_, i) => reading('t1', 10 + i, i));
    batcher.telemetry('open', 'gw-1', backlog.slice(0, 10));
    batcher.telemetry('open', 'gw-1', backlog.slice(10));
    clock.advanceTo(2000);
    const r = windows[2]?.readings[0];
    const sent = r?.messages.flatMap((m) => m.readings) ?? [];
    expect(sent).toHaveLength(MAX_READINGS);
    expect(sent[0]).toEqual(backlog[7]);
    expect(sent.at(-1)).toEqual(backlog.at(-1));
    expect(r?.dropped).toBe(7);
    expect(batcher.droppedReadings).toBe(7);
  });

  it('for any sequence: at most one batch per window, latest state wins, no level lost', () => {
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 1500 }),
      site: fc.constantFrom('a', 'b', 'c'),
      kind: fc.constantFrom('level', 'data', 'status'),
      value: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const { clock, windows, batcher } = setup();
        const last = new Map<string, unknown>();
        const levels = new Map<string, number[]>();
        let t = 0;
        for (const s of steps) {
          t += s.dt;
          clock.advanceTo(t);
          if (s.kind === 'level') {
            batcher.level(s.site, level(s.value, t));
            levels.set(s.site, [...(levels.get(s.site) ?? []), t]);
            last.set(`${s.site}/level`, level(s.value, t));
          } else if (s.kind === 'data') {
            const d = data(s.value % 2 ? 'live' : 'no_data', t);
            batcher.data(s.site, d);
            last.set(`${s.site}/data`, d);
          } else {
            const g = { id: 'gw', state: s.value % 2 ? 'online' : 'offline', at: t } as const;
            batcher.status(s.site, g);
            last.set(`${s.site}/status`, g);
          }
        }
        clock.advanceTo(t + 10_000);
        const seenLast = new Map<string, unknown>();
        const seenLevels = new Map<string, number[]>();
        let prev: number | undefined;
        for (const w of windows) {
          if (prev !== undefined && w.at - prev < 1000) return false;
          prev = w.at;
          const once = new Set<string>();
          for (const u of w.batch.sites) {
            if (once.has(u.site)) return false; // one update per site per batch
            once.add(u.site);
            if (u.levels) {
              seenLevels.set(u.site, [...(seenLevels.get(u.site) ?? []), ...u.levels.map((l) => l.ts)]);
              seenLast.set(`${u.site}/level`, u.levels.at(-1));
            }
            if (u.data) seenLast.set(`${u.site}/data`, u.data);
            for (const g of u.gateways ?? []) seenLast.set(`${u.site}/status`, g);
          }
        }
        expect(seenLast).toEqual(last);
        expect(seenLevels).toEqual(levels);
        return true;
      }),
      { numRuns: 300 },
    );
  });

  it('sends what is pending on shutdown and leaves no timer behind', () => {
    const { clock, windows, batcher } = setup();
    batcher.level('s1', level(1, 0));
    batcher.level('s1', level(2, 10));
    batcher.flushAll();
    expect(windows.map((w) => w.batch.sites)).toEqual([
      [{ site: 's1', levels: [level(1, 0)] }],
      [{ site: 's1', levels: [level(2, 10)] }],
    ]);
    expect(clock.pending).toBe(0);
  });
});
