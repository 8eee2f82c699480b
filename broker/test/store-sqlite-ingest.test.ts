import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openSqliteStore, type StoredReading } from '../src/index.ts';
import { tempDir } from './helpers.ts';

/**
 * The SQLite store's two tables (broker/src/store/sqlite-ingest.ts): writes land in `ingest` and
 * are merged into `readings` a generation at a time, a range of sensors per write. Whatever the
 * state of that merge, every read must give what one table holding the last write of each key
 * would: checked against a Map after every write, for random writes with repeated keys.
 */
const T0 = Date.UTC(2026, 10, 29, 0, 0, 0);

const reading = (site: string, sensor: string, ts: number, x: number): StoredReading => ({
  site,
  gateway: `gw-${x % 3}`,
  sensor,
  kind: 'tilt',
  ts,
  values: { x },
  ...(x % 2 === 0 ? { q: 'suspect' as const } : {}),
});

const key = (r: StoredReading) => `${r.site}/${r.sensor}/${r.ts}`;

/** What the store should say: the last write of each (site, sensor, ts). */
function model(written: readonly StoredReading[]) {
  const last = new Map<string, StoredReading>();
  for (const r of written) last.set(key(r), r);
  const all = [...last.values()];
  const of = (site: string, sensor: string) =>
    all.filter((r) => r.site === site && r.sensor === sensor).sort((a, b) => a.ts - b.ts);
  return { all, of };
}

const arbWrite = fc.array(
  fc.record({
    site: fc.constantFrom('s1', 's2'),
    sensor: fc.constantFrom('a', 'b', 'c', 'd'),
    ts: fc.integer({ min: 0, max: 12 }),
    x: fc.integer({ min: -50, max: 50 }),
  }),
  { minLength: 1, maxLength: 6 },
);

describe('SQLite store: ingest and merge', () => {
  it('reads the last write of every key, whatever the merge has done (random writes, repeated keys)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbWrite, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 8 }),
        async (writes, gen) => {
          const tmp = tempDir('sg-ingest-');
          const store = openSqliteStore(`${tmp.dir}/r.sqlite`, { generationRows: gen });
          const written: StoredReading[] = [];
          try {
            for (const w of writes) {
              const batch = w.map((r) => reading(r.site, r.sensor, T0 + r.ts * 1000, r.x));
              await store.write(batch);
              written.push(...batch);
              const m = model(written);
              expect(await store.count()).toBe(m.all.length);
              expect(await store.count({ site: 's1' })).toBe(m.all.filter((r) => r.site === 's1').length);
              // Latest per (site, sensor), in (site, sensor) order.
              const latest = new Map<string, StoredReading>();
              for (const r of [...m.all].sort((a, b) => a.ts - b.ts)) latest.set(`${r.site}/${r.sensor}`, r);
              const want = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
              expect(await store.latest()).toEqual(want);
              for (const site of ['s1', 's2'])
                for (const sensor of ['a', 'b', 'c', 'd']) {
                  const rows: StoredReading[] = [];
                  for await (const page of store.readings({
                    site,
                    sensor,
                    from: T0,
                    to: T0 + 12_000,
                    pageSize: 2,
                  }))
                    rows.push(...page);
                  expect(rows).toEqual(m.of(site, sensor));
                  // One bucket over everything: count, min, max.
                  const buckets = await store.range({
                    site,
                    sensor,
                    from: T0,
                    to: T0 + 12_999,
                    stepMs: 13_000,
                  });
                  const xs = m.of(site, sensor).map((r) => r.values.x as number);
                  expect(buckets.map((b) => [b.count, b.values.x?.min, b.values.x?.max])).toEqual(
                    xs.length === 0 ? [] : [[xs.length, Math.min(...xs), Math.max(...xs)]],
                  );
                }
            }
          } finally {
            await store.close();
            tmp.cleanup();
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('moves every row to `readings` in generations, one range of sensors per write', async () => {
    const tmp = tempDir('sg-ingest-');
    const path = `${tmp.dir}/r.sqlite`;
    const store = openSqliteStore(path, { generationRows: 10_000 });
    const look = new DatabaseSync(path, { readOnly: true });
    const rows = (table: string) =>
      (look.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    // 500 sensors, one reading each per write: the store's worst case before version 4.
    const write = (i: number) =>
      store.write(Array.from({ length: 500 }, (_, s) => reading('s1', `t${s}`, T0 + i * 1000, i)));
    for (let i = 0; i < 19; i++) await write(i);
    expect(rows('readings')).toBe(0);
    // 10,000 rows waiting after this write: it starts a generation and merges its first range only
    // (2,000 rows: 100 sensors with all their 20 readings).
    await write(19);
    expect(rows('readings')).toBe(2000);
    expect(rows('ingest')).toBe(10_000);
    // Each later write merges the next range; once all of the generation is in, it leaves `ingest`.
    for (let i = 20; i < 23; i++) await write(i);
    expect(rows('readings')).toBe(8000);
    await write(23);
    expect(rows('readings')).toBe(10_000);
    expect(rows('ingest')).toBe(4 * 500);
    for (let i = 24; i < 30; i++) await write(i);
    expect(rows('readings')).toBe(10_000);
    expect(rows('ingest')).toBe(10 * 500);
    expect(await store.count()).toBe(15_000);
    await store.close();
    look.close();
    tmp.cleanup();
  });

  it('keeps rows waiting in `ingest` across a restart and merges them later', async () => {
    const tmp = tempDir('sg-ingest-');
    const path = `${tmp.dir}/r.sqlite`;
    let store = openSqliteStore(path, { generationRows: 50 });
    await store.write(Array.from({ length: 40 }, (_, i) => reading('s1', `t${i % 4}`, T0 + i, i)));
    await store.close();
    store = openSqliteStore(path, { generationRows: 50 });
    expect(await store.count()).toBe(40);
    // 40 left over + 20 new: a generation starts with this write.
    await store.write(Array.from({ length: 20 }, (_, i) => reading('s1', `t${i % 4}`, T0 + 40 + i, i)));
    const look = new DatabaseSync(path, { readOnly: true });
    expect((look.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n).toBeGreaterThan(0);
    look.close();
    expect(await store.count()).toBe(60);
    await store.close();
    tmp.cleanup();
  });

  it('a merge that fails is undone alone: the write commits and the rows stay readable', async () => {
    const tmp = tempDir('sg-ingest-');
    const path = `${tmp.dir}/r.sqlite`;
    const errors: string[] = [];
    const store = openSqliteStore(path, { generationRows: 5, onMergeError: (e) => errors.push(e.message) });
    // Another connection makes every insert into `readings` fail.
    const admin = new DatabaseSync(path);
    admin.exec(
      "CREATE TRIGGER no_merge BEFORE INSERT ON readings BEGIN SELECT RAISE(ABORT, 'merge refused'); END",
    );
    for (let i = 0; i < 4; i++)
      await store.write([reading('s1', 't1', T0 + i, i), reading('s1', 't2', T0 + i, i)]);
    expect(errors).toEqual([expect.stringContaining('merge refused')]);
    expect(await store.count()).toBe(8);
    admin.exec('DROP TRIGGER no_merge');
    for (let i = 4; i < 12; i++) await store.write([reading('s1', 't1', T0 + i, i)]);
    expect(await store.count()).toBe(16);
    expect((admin.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n).toBeGreaterThan(0);
    admin.close();
    await store.close();
    tmp.cleanup();
  });
});
