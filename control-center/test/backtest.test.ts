import type { Store, StoredReading } from '@slopeguard/broker';
import { createEngine, type LevelChange, siteConfig } from '@slopeguard/core/engine/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 12, backtest view: POST /api/v1/sites/{site}/backtest against a real SQLite store file and a
 * real control center. The run must be the engine's own replay of the stored readings (compared with
 * createEngine on the same readings), the changed thresholds must change the result, and every
 * bound must hold: sign-in, period, readings, hostile bodies, rate.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
// Five-minute aligned, a day ago: a 14 h period with a 90 min storm (10 mm every 5 min) 2 h in.
const T0 = Math.floor((Date.now() - 24 * HOUR) / (5 * MIN)) * 5 * MIN;
const FROM = T0;
const TO = T0 + 14 * HOUR;
const STORM = T0 + 2 * HOUR;
const config = siteConfig({
  id: 'slope-a',
  sensors: [
    { id: 'rain-1', kind: 'rain' },
    { id: 'tilt-1', kind: 'tilt' },
  ],
});

function series(): StoredReading[] {
  const out: StoredReading[] = [];
  // A week before FROM on: the run replays the stored readings of its warm-up (24 h before FROM).
  for (let ts = FROM - 7 * 24 * HOUR; ts <= TO; ts += 5 * MIN) {
    const mm = ts >= STORM && ts < STORM + 90 * MIN ? 10 : 0;
    out.push({ site: 'slope-a', gateway: 'gw-1', sensor: 'rain-1', kind: 'rain', ts, values: { mm } });
    out.push({
      site: 'slope-a',
      gateway: 'gw-1',
      sensor: 'tilt-1',
      kind: 'tilt',
      ts: ts + 1000,
      values: { x: 0.5 + ((ts / MIN) % 7) * 1e-4, y: -0.25 },
    });
  }
  return out;
}
const SERIES = series();

/** The engine on the same readings, as `slopeguard backtest` runs it: the changes within the period. */
function direct(overrides?: (c: typeof config) => void): LevelChange[] {
  const c = structuredClone(config);
  overrides?.(c);
  const engine = createEngine(c);
  const changes: LevelChange[] = [];
  for (const r of SERIES) if (r.ts >= FROM - 24 * HOUR && r.ts <= TO) changes.push(...engine.push(r));
  changes.push(...engine.tick(TO));
  return changes.filter((x) => x.ts >= FROM);
}

describe('backtest API', () => {
  const bed = centerBed('backtest');
  let center: ControlCenter;
  let viewer: SignedIn;

  beforeAll(async () => {
    await (await bed.open()).write(SERIES);
    center = await bed.start({
      sites: { configs: new Map([['slope-a', config]]) },
      backtestLimits: { maxReadings: 2000, perMinute: 1000 },
    });
    viewer = await signIn(center, 'viewer');
  }, 60_000);
  afterAll(() => bed.close());

  const run = (who: SignedIn, body: unknown, site = 'slope-a') =>
    who.fetch(`/api/v1/sites/${site}/backtest`, { method: 'POST', body });
  const period = { from: String(FROM), to: new Date(TO).toISOString() };

  it('refuses anonymous callers and a session without its CSRF token', async () => {
    const res = await fetch(`${center.url}api/v1/sites/slope-a/backtest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(period),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('SG_ERR_UNAUTHENTICATED');
    const noCsrf = await viewer.fetch('/api/v1/sites/slope-a/backtest', {
      method: 'POST',
      body: period,
      csrf: false,
    });
    expect(noCsrf.status).toBe(403);
  });

  it("lets a viewer replay the stored readings: the engine's own changes, and different ones with changed thresholds", async () => {
    const overrides = {
      'rain.level1.mm3h': 150,
      'rain.level2.mm3h': 170,
      'rain.level1.mm12h': 500,
      'rain.level2.mm12h': 600,
    };
    const res = await run(viewer, { ...period, overrides });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      source: string;
      readings: number;
      warmupFrom: number;
      sensors: Array<{ id: string; readings: number }>;
      current: { startLevel: number; highest: number; changes: LevelChange[]; timeAtLevelMs: number[] };
      proposed: { highest: number; changes: LevelChange[] };
    };
    expect(body.source).toBe('store');
    expect(body.warmupFrom).toBe(FROM - 24 * HOUR);
    // Every stored reading of both sensors from the warm-up to the end of the period, raw.
    expect(body.readings).toBe(SERIES.filter((r) => r.ts >= FROM - 24 * HOUR && r.ts <= TO).length);
    expect(body.sensors.map((s) => s.id)).toEqual(['rain-1', 'tilt-1']);

    // Exactly what the engine decides on the same readings.
    expect(body.current.changes).toEqual(JSON.parse(JSON.stringify(direct())));
    // With the KMA defaults the storm (10 mm every 5 min) reaches level 2 (90 mm in 3 h) 40 min in.
    const two = body.current.changes.find((c) => c.level === 2);
    expect(two?.ts).toBeGreaterThanOrEqual(STORM + 40 * MIN);
    expect(two?.ts).toBeLessThanOrEqual(STORM + 50 * MIN);
    expect(two?.reasons.some((r) => r.rule === 'rain_3h' && r.threshold === 90)).toBe(true);
    expect(body.current.highest).toBe(2);
    expect(body.current.startLevel).toBe(0);
    // The period's time is shared out between the levels.
    expect(body.current.timeAtLevelMs.reduce((a, b) => a + b, 0)).toBe(TO - FROM);

    // 150 mm in 3 h for level 1, 170 for level 2: the storm's 180 mm reaches both, later.
    const proposed = direct((c) => {
      c.rules.rain.level1.mm3h = 150;
      c.rules.rain.level2.mm3h = 170;
      c.rules.rain.level1.mm12h = 500;
      c.rules.rain.level2.mm12h = 600;
    });
    expect(body.proposed.changes).toEqual(JSON.parse(JSON.stringify(proposed)));
    const later = body.proposed.changes.find((c) => c.level === 2);
    expect(later?.ts).toBeGreaterThan(two?.ts ?? Number.POSITIVE_INFINITY);
    expect(later?.reasons.some((r) => r.rule === 'rain_3h' && r.threshold === 170)).toBe(true);

    // Audited: who ran what.
    const rec = [...center.audit.iterate()].filter((r) => r.action === 'backtest.run').at(-1);
    expect(rec?.actor).toBe(viewer.username);
    expect(rec?.outcome).toBe('ok');
  });

  it('replays the warm-up before the period: a storm just before it gives the level at its start', async () => {
    const res = await run(viewer, { from: String(STORM + HOUR), to: String(STORM + 3 * HOUR) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { current: { startLevel: number; changes: LevelChange[] } };
    expect(body.current.startLevel).toBe(2);
  });

  it('runs uploaded readings (a parsed backtest CSV) and counts the ones it cannot use', async () => {
    const storm = SERIES.filter((r) => r.ts >= FROM && r.ts <= TO).map(({ sensor, kind, ts, values }) => ({
      sensor,
      kind,
      ts,
      values,
    }));
    const readings = [
      ...storm,
      { sensor: 'nowhere-1', kind: 'rain', ts: FROM, values: { mm: 1 } },
      { sensor: 'rain-1', kind: 'tilt', ts: FROM + 1, values: { x: 1, y: 1 } },
      { sensor: 'tilt-1', kind: 'tilt', ts: FROM + 2, values: { x: 1 } },
    ];
    const res = await run(viewer, { readings, overrides: { 'rain.level2.mm3h': 170 } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      source: string;
      from: number;
      readings: number;
      skipped: number;
      problems: string[];
      current: { changes: LevelChange[] };
      proposed: { changes: LevelChange[] };
    };
    expect(body.source).toBe('upload');
    expect(body.readings).toBe(storm.length);
    expect(body.skipped).toBe(3);
    expect(body.problems.join('\n')).toMatch(/nowhere-1 is not in the site file/);
    expect(body.problems.join('\n')).toMatch(/rain-1 is rain in the site file/);
    expect(body.problems.join('\n')).toMatch(/values\/y: required/);
    expect(body.current.changes.some((c) => c.level === 2)).toBe(true);
    expect(body.proposed.changes).not.toEqual(body.current.changes);
  });

  it('refuses a period over 31 days, one the wrong way round, and one with too many readings', async () => {
    const long = await run(viewer, { from: String(TO - 32 * 24 * HOUR), to: String(TO) });
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: string }).error).toBe('SG_ERR_BACKTEST_TOO_LONG');
    const back = await run(viewer, { from: String(TO), to: String(FROM) });
    expect(((await back.json()) as { error: string }).error).toBe('SG_ERR_RANGE_ORDER');
    // 2,000 readings at most in this server: the week before the period holds over 4,000.
    const many = await run(viewer, { from: String(FROM - 7 * 24 * HOUR), to: String(TO) });
    expect(many.status).toBe(400);
    expect(((await many.json()) as { error: string }).error).toBe('SG_ERR_BACKTEST_TOO_MANY');
    const none = await run(viewer, period, 'nowhere');
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: string }).error).toBe('SG_ERR_NO_SITE');
  });

  it('refuses hostile bodies with 400 in the one error shape, never running them', async () => {
    const bad: unknown[] = [
      { ...period, overrides: { 'rain.level1.mm3h': -5 } },
      { ...period, overrides: { 'rain.level1.mm3h': 0 } },
      { ...period, overrides: { 'rain.level1.mm3h': 1e308 } },
      { ...period, overrides: { 'rain.level1.mm3h': '60' } },
      { ...period, overrides: { 'rain.level1.mm3h': null } },
      { ...period, overrides: { 'rain.level1.mm3x': 60 } },
      { ...period, overrides: JSON.parse('{"__proto__": {"x": 1}, "constructor": 1}') },
      { ...period, overrides: { 'health.staleIntervals': 1 } },
      { ...period, overrides: { rain: { level1: { mm3h: 60 } } } },
      { ...period, extra: true },
      { ...period, from: 'yesterday' },
      { from: String(FROM) },
      { readings: [] },
      { readings: [{ sensor: 'rain-1', kind: 'rain', ts: FROM, values: { mm: 1 }, q: 'ok', x: 1 }] },
      { readings: [{ sensor: 'rain-1', kind: 'rain', ts: -1, values: { mm: 1 } }] },
      [period],
      'from=0',
    ];
    for (const body of bad) {
      const res = await viewer.fetch('/api/v1/sites/slope-a/backtest', {
        method: 'POST',
        body: typeof body === 'string' ? body : JSON.parse(JSON.stringify(body)),
      });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const e = (await res.json()) as { error: string; message: string };
      expect(e.error, JSON.stringify(body)).toMatch(/^SG_ERR_(BAD_REQUEST|BAD_TIME)$/);
      expect(typeof e.message).toBe('string');
    }
    // A body over the size limit is refused before it is parsed.
    const huge = await viewer.fetch('/api/v1/sites/slope-a/backtest', {
      method: 'POST',
      body: {
        readings: [{ sensor: 'rain-1', kind: 'rain', ts: FROM, values: { mm: 1 } }],
        pad: 'x'.repeat(13 * 1024 * 1024),
      },
    });
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: string }).error).toBe('SG_ERR_TOO_LARGE');
  });
});

describe('backtest API rate limit', () => {
  const bed = centerBed('backtest-rate');
  let center: ControlCenter;

  beforeAll(async () => {
    await (await bed.open()).write(SERIES.slice(0, 50));
    center = await bed.start({
      sites: { configs: new Map([['slope-a', config]]) },
      backtestLimits: { perMinute: 3 },
    });
  }, 60_000);
  afterAll(() => bed.close());

  it('allows a few runs a minute per user, then 429 with Retry-After; another user is not held up', async () => {
    const a = await signIn(center, 'operator');
    const b = await signIn(center, 'viewer');
    const body = { from: String(FROM - 24 * HOUR), to: String(FROM - 20 * HOUR) };
    const go = (u: SignedIn) => u.fetch('/api/v1/sites/slope-a/backtest', { method: 'POST', body });
    for (let i = 0; i < 3; i++) expect((await go(a)).status).toBe(200);
    const refused = await go(a);
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: string }).error).toBe('SG_ERR_RATE_LIMITED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await go(b)).status).toBe(200);
    const rec = [...center.audit.iterate()].filter(
      (r) => r.action === 'backtest.run' && r.outcome === 'refused',
    );
    expect(rec.at(-1)?.actor).toBe(a.username);
  });
});

describe('backtest API concurrency', () => {
  const bed = centerBed('backtest-conc');
  let center: ControlCenter;
  // The store answers range queries only once opened: a run is held in flight for as long as needed.
  let open: () => void = () => undefined;
  let gate = Promise.resolve();
  let waiting = 0;

  beforeAll(async () => {
    const store = await bed.open();
    await store.write(SERIES.slice(0, 50));
    const gated = {
      latest: store.latest.bind(store),
      async range(q: Parameters<Store['range']>[0]) {
        waiting++;
        await gate;
        return store.range(q);
      },
    };
    center = await bed.start({
      store: gated,
      sites: { configs: new Map([['slope-a', config]]) },
      backtestLimits: { concurrent: 2, concurrentPerUser: 1 },
    });
  }, 60_000);
  afterAll(async () => {
    open();
    await bed.close();
  });

  it('runs one backtest at a time per user and two in all; the next is refused, not queued', async () => {
    gate = new Promise((resolve) => {
      open = resolve;
    });
    const [a, b, c] = [
      await signIn(center, 'viewer'),
      await signIn(center, 'viewer'),
      await signIn(center, 'viewer'),
    ];
    const body = { from: String(FROM - 24 * HOUR), to: String(FROM - 23 * HOUR) };
    const go = (u: SignedIn) => u.fetch('/api/v1/sites/slope-a/backtest', { method: 'POST', body });
    const first = go(a);
    await expect.poll(() => waiting).toBe(1);
    // The same user again while the first is in flight: refused.
    expect((await go(a)).status).toBe(429);
    const second = go(b);
    await expect.poll(() => waiting).toBe(2);
    // A third user while two run: refused too.
    const third = await go(c);
    expect(third.status).toBe(429);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
    open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    // Once they are done, the slots are free again.
    expect((await go(c)).status).toBe(200);
  });
});
