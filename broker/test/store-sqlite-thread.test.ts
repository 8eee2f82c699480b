import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { openSqliteStore, type StoredReading } from '../src/index.ts';
import { createBrokerMetrics } from '../src/metrics.ts';
import { createRecorder } from '../src/recorder.ts';
import { openThreadedSqliteStore } from '../src/store/sqlite-thread.ts';
import { refuseMerges, silent, tempDir } from './helpers.ts';
import { storeContract } from './store-contract.ts';

storeContract('SQLite, writes in a worker thread', async () => {
  const tmp = tempDir('sg-store-thread-');
  return {
    store: openThreadedSqliteStore(`${tmp.dir}/sub/readings.sqlite`),
    cleanup: async () => tmp.cleanup(),
  };
});

describe('SQLite store with a writer thread', () => {
  it('a resolved write is in the file (another connection sees it), and close commits what was posted', async () => {
    const tmp = tempDir('sg-store-thread-');
    const path = `${tmp.dir}/readings.sqlite`;
    const store = openThreadedSqliteStore(path);
    const reading = (i: number) => ({
      site: 's1',
      gateway: 'g1',
      sensor: `t${i % 7}`,
      kind: 'tilt' as const,
      ts: 1_000 + i,
      values: { x: i },
    });
    await store.write([reading(0), reading(1)]);
    const other = openSqliteStore(path);
    expect(await other.count()).toBe(2);
    // Not awaited: close must still commit them before the thread ends.
    const late = store.write(Array.from({ length: 500 }, (_, i) => reading(i + 2)));
    await store.close();
    await late;
    expect(await other.count()).toBe(502);
    await other.close();
    await expect(store.write([reading(9_999)])).rejects.toMatchObject({ code: 'SG_ERR_STORE_CLOSED' });
    tmp.cleanup();
  });

  it('keeps the code of a refused batch (the recorder sets such a message aside)', async () => {
    const tmp = tempDir('sg-store-thread-');
    const store = openThreadedSqliteStore(`${tmp.dir}/readings.sqlite`);
    // A value JSON cannot encode: the store refuses the reading, not the database.
    const bad = { site: 's1', gateway: 'g1', sensor: 't1', kind: 'tilt' as const, ts: 1, values: { x: 10n } };
    await expect(store.write([bad as never])).rejects.toMatchObject({ code: 'SG_ERR_STORE_REJECTED' });
    await store.close();
    tmp.cleanup();
  });

  it('reports a failed merge from the writer thread (the write itself commits)', async () => {
    const tmp = tempDir('sg-store-thread-');
    const path = `${tmp.dir}/readings.sqlite`;
    const errors: string[] = [];
    const store = openThreadedSqliteStore(path, {
      mergesPerWrite: 64,
      writesPerMerge: 1,
      onMergeError: (e) => errors.push(e.message),
    });
    const reading = (ts: number) => ({
      site: 's1',
      gateway: 'g1',
      sensor: 't1',
      kind: 'tilt' as const,
      ts,
      values: { x: ts },
    });
    await store.write([reading(1)]);
    const admin = refuseMerges(path);
    await store.write([reading(2)]);
    await expect.poll(() => errors).toEqual([expect.stringContaining('merge refused')]);
    expect(await store.count()).toBe(2);
    admin.close();
    await store.close();
    tmp.cleanup();
  });

  it('odd strings cross to the writer exactly (fields are cut by length, not by a separator)', async () => {
    const tmp = tempDir('sg-store-thread-');
    const store = openThreadedSqliteStore(`${tmp.dir}/readings.sqlite`);
    // Concatenated, 'ab'+'c' and 'a'+'bc' are the same text: only the lengths tell them apart.
    const odd: StoredReading[] = [
      { site: 'ab', gateway: 'g|1', sensor: 'c', kind: 'tilt', ts: 10, values: { x: 1 } },
      { site: 'a', gateway: 'g|1', sensor: 'bc', kind: 'tilt', ts: 10, values: { x: 2 }, q: 'suspect' },
      {
        site: 'a',
        gateway: '게이트웨이 🛰️',
        sensor: 'é\u0301"}',
        kind: 'rain',
        ts: 11,
        values: { 'mm"': -0 },
      },
      { site: 'a', gateway: '', sensor: 'bc', kind: 'tilt', ts: 12, values: {}, q: '' as never },
    ];
    await store.write(odd);
    expect(await store.count()).toBe(4);
    const read = async (site: string, sensor: string) => {
      const out: StoredReading[] = [];
      for await (const page of store.readings({ site, sensor, from: 0, to: 100 })) out.push(...page);
      return out;
    };
    expect(await read('ab', 'c')).toEqual([odd[0]]);
    expect(await read('a', 'bc')).toEqual([odd[1], { ...odd[3], q: '' }]);
    expect(await read('a', 'é\u0301"}')).toEqual([{ ...odd[2], values: { 'mm"': 0 } }]);
    expect((await store.latest({ site: 'a' })).map((r) => [r.sensor, r.ts])).toEqual([
      ['bc', 12],
      ['é\u0301"}', 11],
    ]);
    await store.close();
    tmp.cleanup();
  });

  it('a value JSON refuses is refused for its own message only, in a batch shared with others', async () => {
    const tmp = tempDir('sg-store-thread-');
    const store = openThreadedSqliteStore(`${tmp.dir}/readings.sqlite`);
    const registry = new Registry();
    const recorder = createRecorder({ store, metrics: createBrokerMetrics(registry), logger: silent });
    const reading = (sensor: string, ts: number, values: Record<string, unknown>) =>
      ({ site: 's1', gateway: 'g1', sensor, kind: 'tilt', ts, values }) as StoredReading;
    // Submitted together: one group commit, which the writer thread refuses as a whole; the
    // recorder then writes the messages one by one and sets aside only the BigInt's.
    await Promise.all([
      recorder.submit([reading('t1', 1, { x: 1 }), reading('t2', 1, { x: 2 })]),
      recorder.submit([reading('t3', 1, { x: 3n }), reading('t4', 1, { x: 4 })]),
      recorder.submit([reading('t5', 1, { x: 5 })]),
    ]);
    expect(await store.count()).toBe(3);
    expect((await store.latest()).map((r) => r.sensor)).toEqual(['t1', 't2', 't5']);
    const rejected = await registry.getSingleMetricAsString('slopeguard_broker_rejected_total');
    expect(rejected).toContain('reason="store_rejected"} 1');
    await recorder.close();
    await store.close();
    tmp.cleanup();
  });
});
