import { DatabaseSync } from 'node:sqlite';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openSqliteStore, type StoredReading } from '../src/index.ts';
import { refuseMerges, tempDir } from './helpers.ts';

/**
 * The SQLite store's two levels (broker/src/store/sqlite-ingest.ts): writes land in 64 ingest
 * partitions (sid % 64) and each write merges the next partition in turn into `readings`. Whatever
 * the state of that merge, every read must give what one table holding the last write of each key
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
      // Sensor ids 1-8 are partitions 1-8. Merging on every write, they are merged by writes 2-9
      // (and 66-73); on every fourth (the default), by writes 5, 9, .., 33: up to 24 writes after
      // up to 63 others give rows in both levels, of every age, with keys written again after
      // their merge.
      fc.asyncProperty(
        fc.array(arbWrite, { minLength: 1, maxLength: 24 }),
        fc.integer({ min: 0, max: 63 }),
        fc.constantFrom(1, 4),
        async (writes, skip, writesPerMerge) => {
          const tmp = tempDir('sg-ingest-');
          const store = openSqliteStore(`${tmp.dir}/r.sqlite`, { writesPerMerge });
          // Writes of another site move the merge's turn by `skip` partitions first.
          for (let i = 0; i < skip; i++) await store.write([reading('s9', 'z', T0 + i, 1)]);
          const written: StoredReading[] = [];
          try {
            for (const w of writes) {
              const batch = w.map((r) => reading(r.site, r.sensor, T0 + r.ts * 1000, r.x));
              await store.write(batch);
              written.push(...batch);
              const m = model(written);
              expect(await store.count()).toBe(m.all.length + skip);
              // Another reader of the file sees the same through the view `all_readings`.
              const look = new DatabaseSync(`${tmp.dir}/r.sqlite`, { readOnly: true });
              const viewed = look
                .prepare(
                  `SELECT s.site, s.sensor, r.ts, r.vals FROM all_readings r JOIN sensors s USING (sid)
                   WHERE s.site <> 's9' ORDER BY s.site, s.sensor, r.ts`,
                )
                .all() as { site: string; sensor: string; ts: number; vals: string }[];
              look.close();
              expect(viewed.map((v) => `${v.site}/${v.sensor}/${v.ts}=${JSON.parse(v.vals).x}`)).toEqual(
                [...m.all]
                  .sort((a, b) => (a.site + a.sensor).localeCompare(b.site + b.sensor) || a.ts - b.ts)
                  .map((r) => `${r.site}/${r.sensor}/${r.ts}=${r.values.x}`),
              );
              expect(await store.count({ site: 's1' })).toBe(m.all.filter((r) => r.site === 's1').length);
              // Latest per (site, sensor), in (site, sensor) order.
              const latest = new Map<string, StoredReading>();
              for (const r of [...m.all].sort((a, b) => a.ts - b.ts)) latest.set(`${r.site}/${r.sensor}`, r);
              const want = [...latest.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, r]) => r);
              expect((await store.latest()).filter((r) => r.site !== 's9')).toEqual(want);
              expect(await store.latest({ site: 's2' })).toEqual(want.filter((r) => r.site === 's2'));
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

  it('merging on every write: every row is in `readings` within 64 writes', async () => {
    const tmp = tempDir('sg-ingest-');
    const path = `${tmp.dir}/r.sqlite`;
    const store = openSqliteStore(path, { writesPerMerge: 1 });
    const look = new DatabaseSync(path, { readOnly: true });
    const n = (sql: string) => (look.prepare(sql).get() as { n: number }).n;
    const inPartitions = () => {
      let sum = 0;
      for (let p = 0; p < 64; p++) sum += n(`SELECT count(*) AS n FROM ingest_${String(p).padStart(2, '0')}`);
      return sum;
    };
    // 500 sensors (sids 1-500), one reading each per write: the store's worst case before version 4.
    const write = (i: number) =>
      store.write(Array.from({ length: 500 }, (_, s) => reading('s1', `t${s}`, T0 + i * 1000, i)));
    await write(0);
    // The first write merged partition 0: sids 64, 128, ..., 448 (7 sensors).
    expect(n('SELECT count(*) AS n FROM readings')).toBe(7);
    expect(n('SELECT count(*) AS n FROM ingest_00')).toBe(0);
    expect(inPartitions()).toBe(493);
    for (let i = 1; i < 64; i++) await write(i);
    // Each partition was merged once, by write p, with the p + 1 readings of its sensors then.
    let merged = 0;
    for (let p = 0; p < 64; p++) merged += (p + 1) * (p === 0 ? 7 : p <= 500 % 64 ? 8 : 7);
    expect(n('SELECT count(*) AS n FROM readings')).toBe(merged);
    expect(inPartitions()).toBe(64 * 500 - merged);
    // A row waits at most 64 writes: after 64 more, none of the first 64 writes is left there.
    for (let i = 64; i < 128; i++) await write(i);
    expect(n(`SELECT count(*) AS n FROM readings WHERE ts < ${T0 + 64_000}`)).toBe(64 * 500);
    expect(await store.count()).toBe(128 * 500);
    await store.close();
    look.close();
    tmp.cleanup();
  });

  it('keeps rows in the partitions across a restart and merges them on their turn', async () => {
    const tmp = tempDir('sg-ingest-');
    const path = `${tmp.dir}/r.sqlite`;
    let store = openSqliteStore(path);
    await store.write(Array.from({ length: 40 }, (_, i) => reading('s1', `t${i % 4}`, T0 + i, i)));
    await store.close();
    store = openSqliteStore(path);
    expect(await store.count()).toBe(40);
    expect((await store.latest()).map((r) => r.ts)).toEqual([T0 + 36, T0 + 37, T0 + 38, T0 + 39]);
    // The four sensors are partitions 1-4: merged by this process's writes 5, 9, 13 and 17 (a
    // merge every fourth write, from its first). The new sensor, partition 5, is not merged yet.
    const merged = () => {
      const look = new DatabaseSync(path, { readOnly: true });
      const n = (look.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n;
      look.close();
      return n;
    };
    for (let i = 0; i < 16; i++) await store.write([reading('s2', 'x', T0 + i, i)]);
    expect(merged()).toBe(30);
    await store.write([reading('s2', 'x', T0 + 16, 16)]);
    expect(merged()).toBe(40);
    expect(await store.count()).toBe(57);
    await store.close();
    tmp.cleanup();
  });

  it.each([1, 4])(
    'a merge that fails is undone alone: the write commits and the rows stay readable (a merge every %i writes)',
    async (writesPerMerge) => {
      const tmp = tempDir('sg-ingest-');
      const path = `${tmp.dir}/r.sqlite`;
      const errors: string[] = [];
      const store = openSqliteStore(path, {
        mergesPerWrite: 64,
        writesPerMerge,
        onMergeError: (e) => errors.push(e.message),
      });
      const admin = refuseMerges(path);
      // Eight writes hold at least two merging ones: the run of failures is reported once, even
      // with writes that do not merge between them.
      for (let i = 0; i < 8; i++)
        await store.write([reading('s1', 't1', T0 + i, i), reading('s1', 't2', T0 + i, i)]);
      expect(errors).toEqual([expect.stringContaining('merge refused')]);
      expect(await store.count()).toBe(16);
      admin.allow();
      for (let i = 8; i < 16; i++) await store.write([reading('s1', 't1', T0 + i, i)]);
      expect(await store.count()).toBe(24);
      expect(
        (admin.db.prepare('SELECT count(*) AS n FROM readings').get() as { n: number }).n,
      ).toBeGreaterThan(0);
      admin.close();
      await store.close();
      tmp.cleanup();
    },
  );

  it('merges on every fourth write by default: every row is in `readings` within 256 writes', async () => {
    const tmp = tempDir('sg-ingest-');
    const path = `${tmp.dir}/r.sqlite`;
    const store = openSqliteStore(path);
    const look = new DatabaseSync(path, { readOnly: true });
    const n = (sql: string) => (look.prepare(sql).get() as { n: number }).n;
    // 64 sensors (sids 1-64: one per partition, sid 64 in partition 0), one reading each per write.
    const write = (i: number) =>
      store.write(Array.from({ length: 64 }, (_, s) => reading('s1', `t${s}`, T0 + i * 1000, i)));
    await write(0);
    // Write 0 merged partition 0 (sid 64); writes 1-3 merge nothing.
    expect(n('SELECT count(*) AS n FROM readings')).toBe(1);
    for (let i = 1; i < 4; i++) await write(i);
    expect(n('SELECT count(*) AS n FROM readings')).toBe(1);
    // Write 4 merges partition 1 (sid 1) with its five readings.
    await write(4);
    expect(n('SELECT count(*) AS n FROM readings')).toBe(6);
    for (let i = 5; i < 256; i++) await write(i);
    // Write 4p merged partition p; a row waits at most 256 writes: none of write 0's is left.
    expect(n(`SELECT count(*) AS n FROM readings WHERE ts = ${T0}`)).toBe(64);
    expect(await store.count()).toBe(256 * 64);
    await store.close();
    look.close();
    tmp.cleanup();
  });
});
