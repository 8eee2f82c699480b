import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/index.ts';
import { openThreadedSqliteStore } from '../src/store/sqlite-thread.ts';
import { tempDir } from './helpers.ts';
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
});
