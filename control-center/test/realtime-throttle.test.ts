import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_EVENTS, type Push, SiteThrottle, type Timers } from '../src/realtime-throttle.ts';

/**
 * Issue 10: socket.io pushes at most one update per site per second, coalesced, with the leading
 * edge at once and no level change lost. On a fake clock: nothing here waits.
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

function setup(windowMs = 1000) {
  const clock = new FakeClock();
  const flushes: Array<{ at: number; site: string; pushes: Push[] }> = [];
  const throttle = new SiteThrottle({
    windowMs,
    timers: clock,
    emit: (site, pushes) => flushes.push({ at: clock.now, site, pushes }),
  });
  return { clock, flushes, throttle };
}

const telemetry = (gateway: string, seq: number, readings: Array<[string, number, number]>) => ({
  site: 's1',
  gateway,
  message: {
    seq,
    readings: readings.map(([sensor, ts, x]) => ({ sensor, kind: 'tilt', ts, values: { x, y: 0 } })),
  },
});
const level = (n: number, ts: number) => ({ site: 's1', message: { level: n, ts, reasons: [] } });

describe('per-site push throttle', () => {
  it('sends the first change of a quiet site at once, then coalesces the window into one flush', () => {
    const { clock, flushes, throttle } = setup();
    throttle.push('s1', 'telemetry', telemetry('gw-1', 1, [['t1', 0, 0.1]]));
    expect(flushes).toHaveLength(1);
    expect(flushes[0]).toMatchObject({ at: 0, site: 's1' });

    clock.advanceTo(100);
    throttle.push(
      's1',
      'telemetry',
      telemetry('gw-1', 2, [
        ['t1', 100, 0.2],
        ['t2', 100, 5],
      ]),
    );
    clock.advanceTo(400);
    throttle.push('s1', 'telemetry', telemetry('gw-1', 3, [['t1', 400, 0.3]]));
    throttle.push('s1', 'status', { site: 's1', gateway: 'gw-1', message: { state: 'online' } });
    throttle.push('s1', 'site-data', { site: 's1', data: { state: 'degraded' } });
    throttle.push('s1', 'site-data', { site: 's1', data: { state: 'live' } });
    clock.advanceTo(999);
    expect(flushes).toHaveLength(1);
    clock.advanceTo(1000);
    expect(flushes).toHaveLength(2);
    const flush = flushes[1] as { at: number; pushes: Push[] };
    expect(flush.at).toBe(1000);
    expect(flush.pushes.map((p) => p.event)).toEqual(['telemetry', 'status', 'site-data']);
    // The newest reading of each sensor and the latest seq; the latest data state.
    expect(flush.pushes[0]?.payload).toEqual(
      telemetry('gw-1', 3, [
        ['t1', 400, 0.3],
        ['t2', 100, 5],
      ]),
    );
    expect(flush.pushes[2]?.payload).toEqual({ site: 's1', data: { state: 'live' } });
  });

  it('carries every level of the window in the coalesced level push, in order', () => {
    const { clock, flushes, throttle } = setup();
    throttle.push('s1', 'level', level(1, 0));
    clock.advanceTo(200);
    throttle.push('s1', 'level', level(3, 200));
    clock.advanceTo(300);
    throttle.push('s1', 'level', level(2, 300));
    clock.advanceTo(1000);
    expect(flushes.map((f) => f.pushes)).toEqual([
      [{ event: 'level', payload: level(1, 0) }],
      [
        {
          event: 'level',
          payload: { ...level(2, 300), changes: [level(3, 200).message, level(2, 300).message] },
        },
      ],
    ]);
  });

  it('lets a site go quiet: after an empty window its next change leads again', () => {
    const { clock, flushes, throttle } = setup();
    throttle.push('s1', 'level', level(1, 0));
    clock.advanceTo(1000); // the window closes empty
    expect(clock.pending).toBe(0);
    clock.advanceTo(1500);
    throttle.push('s1', 'level', level(2, 1500));
    expect(flushes.map((f) => f.at)).toEqual([0, 1500]);
  });

  it('throttles each site on its own window', () => {
    const { clock, flushes, throttle } = setup();
    throttle.push('s1', 'level', level(1, 0));
    clock.advanceTo(500);
    throttle.push('s1', 'level', level(2, 500));
    throttle.push('s2', 'level', { site: 's2', message: { level: 1, ts: 500, reasons: [] } });
    expect(flushes.map((f) => [f.site, f.at])).toEqual([
      ['s1', 0],
      ['s2', 500],
    ]);
    clock.advanceTo(1000);
    expect(flushes.map((f) => [f.site, f.at])).toEqual([
      ['s1', 0],
      ['s2', 500],
      ['s1', 1000],
    ]);
  });

  it('keeps each alert and command by id, and at most MAX_EVENTS gateway events per flush', () => {
    const { clock, flushes, throttle } = setup();
    throttle.push('s1', 'level', level(1, 0));
    throttle.push('s1', 'alert', { id: 1, site: 's1', level: 1, acknowledged: false });
    throttle.push('s1', 'alert', { id: 2, site: 's1', level: 1, acknowledged: false });
    throttle.push('s1', 'alert', { id: 1, site: 's1', level: 1, acknowledged: true });
    throttle.push('s1', 'command', { id: 'c1', site: 's1', status: 'sent' });
    throttle.push('s1', 'command', { id: 'c1', site: 's1', status: 'acked' });
    for (let i = 0; i < MAX_EVENTS + 5; i++)
      throttle.push('s1', 'event', { site: 's1', gateway: 'gw-1', message: { type: 'x', n: i } });
    clock.advanceTo(1000);
    const pushes = flushes[1]?.pushes ?? [];
    expect(pushes.filter((p) => p.event === 'alert').map((p) => p.payload)).toEqual([
      { id: 1, site: 's1', level: 1, acknowledged: true },
      { id: 2, site: 's1', level: 1, acknowledged: false },
    ]);
    expect(pushes.filter((p) => p.event === 'command').map((p) => p.payload)).toEqual([
      { id: 'c1', site: 's1', status: 'acked' },
    ]);
    const events = pushes.filter((p) => p.event === 'event');
    expect(events).toHaveLength(MAX_EVENTS);
    expect(events[0]?.payload).toMatchObject({ message: { n: 5 } });
    expect(throttle.droppedEvents).toBe(5);
  });

  it('for any sequence: one flush per site per window, latest state wins, no level lost', () => {
    const step = fc.record({
      dt: fc.integer({ min: 0, max: 1500 }),
      site: fc.constantFrom('a', 'b', 'c'),
      kind: fc.constantFrom('level', 'site-data', 'status'),
      value: fc.integer({ min: 0, max: 4 }),
    });
    fc.assert(
      fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
        const { clock, flushes, throttle } = setup();
        const last = new Map<string, unknown>();
        const levels = new Map<string, number[]>();
        let t = 0;
        for (const s of steps) {
          t += s.dt;
          clock.advanceTo(t);
          const payload =
            s.kind === 'level'
              ? { site: s.site, message: { level: s.value, ts: t } }
              : { site: s.site, gateway: 'gw', data: s.value };
          throttle.push(s.site, s.kind, payload);
          last.set(`${s.site}/${s.kind}`, s.kind === 'level' ? payload.message : payload);
          if (s.kind === 'level') levels.set(s.site, [...(levels.get(s.site) ?? []), t]);
        }
        clock.advanceTo(t + 10_000);
        const seenLast = new Map<string, unknown>();
        const seenLevels = new Map<string, number[]>();
        const lastAt = new Map<string, number>();
        for (const f of flushes) {
          const prev = lastAt.get(f.site);
          if (prev !== undefined && f.at - prev < 1000) return false;
          lastAt.set(f.site, f.at);
          for (const p of f.pushes) {
            const pl = p.payload as { message?: { ts: number }; changes?: Array<{ ts: number }> };
            if (p.event === 'level') {
              const ts = (pl.changes ?? [pl.message]).map((m) => m?.ts as number);
              seenLevels.set(f.site, [...(seenLevels.get(f.site) ?? []), ...ts]);
              seenLast.set(`${f.site}/level`, pl.message);
            } else seenLast.set(`${f.site}/${p.event}`, p.payload);
          }
        }
        expect(seenLast).toEqual(last);
        expect(seenLevels).toEqual(levels);
        return true;
      }),
      { numRuns: 300 },
    );
  });
});
