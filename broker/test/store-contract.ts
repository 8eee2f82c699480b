import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store, StoredReading } from '../src/index.ts';

/**
 * The one contract every Store implementation passes (like MQTT.js's abstract_store). `open`
 * gives a fresh, empty store for each test.
 */
export function storeContract(name: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeEach(async () => {
      ({ store, cleanup } = await open());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    const T0 = Date.UTC(2026, 6, 27, 7, 0, 0);
    const tilt = (site: string, sensor: string, ts: number, x: number, y = -x): StoredReading => ({
      site,
      gateway: 'g1',
      sensor,
      kind: 'tilt',
      ts,
      values: { x, y },
    });
    const rain = (site: string, sensor: string, ts: number, mm: number): StoredReading => ({
      site,
      gateway: 'g2',
      sensor,
      kind: 'rain',
      ts,
      values: { mm },
      q: 'ok',
    });

    it('stores a batch and counts it, overall and per site', async () => {
      await store.write([tilt('s1', 't1', T0, 0.1), tilt('s1', 't2', T0, 0.2), rain('s2', 'r1', T0, 1.5)]);
      expect(await store.count()).toBe(3);
      expect(await store.count({ site: 's1' })).toBe(2);
      expect(await store.count({ site: 'nowhere' })).toBe(0);
    });

    it('treats an empty batch as a no-op', async () => {
      await store.write([]);
      expect(await store.count()).toBe(0);
    });

    it('is idempotent: the same (site, sensor, ts) written twice is stored once', async () => {
      const batch = [tilt('s1', 't1', T0, 0.1), rain('s1', 'r1', T0 + 1, 2)];
      await store.write(batch);
      await store.write(batch);
      await store.write([batch[0] as StoredReading]);
      expect(await store.count()).toBe(2);
    });

    it('keeps values, kind, gateway and quality exactly (round trip through latest)', async () => {
      const r: StoredReading = {
        site: 's1',
        gateway: 'gw-7',
        sensor: 'p1',
        kind: 'pore_pressure',
        ts: T0 + 123,
        values: { kpa: -12.375, temp_c: 3, supply_v: 1e-7 },
        q: 'suspect',
      };
      await store.write([r]);
      expect(await store.latest()).toEqual([r]);
    });

    it('returns the latest reading per (site, sensor), optionally for one site', async () => {
      await store.write([
        tilt('s1', 't1', T0, 0.1),
        tilt('s1', 't1', T0 + 2000, 0.3),
        tilt('s1', 't2', T0 + 500, 0.5),
      ]);
      await store.write([tilt('s1', 't1', T0 + 1000, 0.2), rain('s2', 't1', T0 - 5000, 4)]);
      const all = await store.latest();
      expect(all.map((r) => [r.site, r.sensor, r.ts, r.values.x ?? r.values.mm])).toEqual([
        ['s1', 't1', T0 + 2000, 0.3],
        ['s1', 't2', T0 + 500, 0.5],
        ['s2', 't1', T0 - 5000, 4],
      ]);
      expect((await store.latest({ site: 's2' })).map((r) => r.sensor)).toEqual(['t1']);
      expect(await store.latest({ site: 'nowhere' })).toEqual([]);
    });

    it('downsamples a range into buckets aligned to `from` with min/max/mean per field', async () => {
      // 10 readings one second apart, x = 0..9; plus one outside the range and another sensor.
      const batch = Array.from({ length: 10 }, (_, i) => tilt('s1', 't1', T0 + i * 1000, i, i * 2));
      await store.write([...batch, tilt('s1', 't1', T0 + 60_000, 99), tilt('s1', 't2', T0, 50)]);
      const buckets = await store.range({ site: 's1', sensor: 't1', from: T0, to: T0 + 9999, stepMs: 5000 });
      expect(buckets).toEqual([
        { start: T0, count: 5, values: { x: { min: 0, max: 4, mean: 2 }, y: { min: 0, max: 8, mean: 4 } } },
        {
          start: T0 + 5000,
          count: 5,
          values: { x: { min: 5, max: 9, mean: 7 }, y: { min: 10, max: 18, mean: 14 } },
        },
      ]);
    });

    it('derives the step from `points`, includes both ends, and omits empty buckets', async () => {
      await store.write([
        tilt('s1', 't1', T0 + 500, 1),
        tilt('s1', 't1', T0 + 1500, 3),
        tilt('s1', 't1', T0 + 3999, 5),
      ]);
      // 4000 ms in 4 points: 1000 ms buckets; [T0+2000, T0+3000) is empty.
      const buckets = await store.range({ site: 's1', sensor: 't1', from: T0, to: T0 + 3999, points: 4 });
      expect(buckets.map((b) => [b.start - T0, b.count, b.values.x?.mean])).toEqual([
        [0, 1, 1],
        [1000, 1, 3],
        [3000, 1, 5],
      ]);
      expect(await store.range({ site: 's1', sensor: 'none', from: T0, to: T0 + 3999, points: 4 })).toEqual(
        [],
      );
    });

    it('aligns buckets to `from` even when `from` is not a multiple of the step', async () => {
      const from = T0 + 250;
      await store.write([
        tilt('s1', 't1', from, 1),
        tilt('s1', 't1', from + 999, 2),
        tilt('s1', 't1', from + 1000, 7),
      ]);
      const buckets = await store.range({ site: 's1', sensor: 't1', from, to: from + 1999, stepMs: 1000 });
      expect(buckets.map((b) => [b.start - from, b.count, b.values.x?.max])).toEqual([
        [0, 2, 2],
        [1000, 1, 7],
      ]);
    });

    /** Every page of a raw read, in order. */
    async function pages(q: Parameters<Store['readings']>[0]): Promise<StoredReading[][]> {
      const out: StoredReading[][] = [];
      for await (const page of store.readings(q)) out.push(page);
      return out;
    }

    it('reads raw readings of one sensor in pages, ascending, both ends included', async () => {
      // 2,500 readings 1 s apart, written out of order, with quality on some; around them another
      // sensor, another site and readings just outside the range.
      const mine = Array.from({ length: 2500 }, (_, i): StoredReading => {
        const r = tilt('s1', 't1', T0 + i * 1000, i / 8, -1 - i);
        return i % 100 === 0 ? { ...r, gateway: 'g9', q: 'suspect' } : r;
      });
      const shuffled = [...mine.filter((_, i) => i % 2 === 1), ...mine.filter((_, i) => i % 2 === 0)];
      await store.write(shuffled.slice(0, 1300));
      await store.write([
        ...shuffled.slice(1300),
        tilt('s1', 't1', T0 - 1, 99),
        tilt('s1', 't1', T0 + 2500 * 1000, 99),
        tilt('s1', 't2', T0 + 1000, 7),
        tilt('s2', 't1', T0 + 1000, 8),
      ]);
      const got = await pages({ site: 's1', sensor: 't1', from: T0, to: T0 + 2499 * 1000, pageSize: 1000 });
      expect(got.map((p) => p.length)).toEqual([1000, 1000, 500]);
      expect(got.flat()).toEqual(mine);
      // The default page size, and a range inside the data.
      const middle = await pages({ site: 's1', sensor: 't1', from: T0 + 10_500, to: T0 + 20_000 });
      expect(middle.flat().map((r) => r.ts - T0)).toEqual(
        Array.from({ length: 10 }, (_, i) => 11_000 + i * 1000),
      );
      expect(await pages({ site: 's1', sensor: 'none', from: T0, to: T0 + 10_000 })).toEqual([]);
      expect(await pages({ site: 'nowhere', sensor: 't1', from: T0, to: T0 + 10_000 })).toEqual([]);
      expect(await pages({ site: 's1', sensor: 't1', from: T0 + 500, to: T0 + 999 })).toEqual([]);
    });

    it('reads a page only when asked: a consumer that stops early reads no further', async () => {
      await store.write(Array.from({ length: 30 }, (_, i) => tilt('s1', 't1', T0 + i, i)));
      const it = store
        .readings({ site: 's1', sensor: 't1', from: T0, to: T0 + 29, pageSize: 10 })
        [Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      expect((first.value as StoredReading[]).map((r) => r.ts - T0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // Written after the first page was read, before the second: the next pages are read now.
      await store.write([tilt('s1', 't1', T0 + 15, 150)]);
      const second = await it.next();
      expect((second.value as StoredReading[])[5]?.values.x).toBe(150);
      expect((await it.return?.())?.done).toBe(true);
    });

    it('takes a large batch (5,000 readings from 500 sensors)', async () => {
      const batch = Array.from({ length: 5000 }, (_, i) =>
        tilt('s9', `t${i % 500}`, T0 + Math.floor(i / 500), i / 7),
      );
      await store.write(batch);
      expect(await store.count({ site: 's9' })).toBe(5000);
      expect((await store.latest({ site: 's9' })).length).toBe(500);
    });
  });
}
