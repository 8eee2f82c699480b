import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/index.ts';
import { tempDir } from './helpers.ts';
import { storeContract } from './store-contract.ts';

storeContract('SQLite (node:sqlite, WAL)', async () => {
  const tmp = tempDir('sg-store-');
  return { store: openSqliteStore(`${tmp.dir}/sub/dir/readings.sqlite`), cleanup: async () => tmp.cleanup() };
});

// The same contract with every write merged into `readings` at once (by default every fourth write
// merges one of the 64 ingest partitions, so the tests above read mostly from the partitions).
storeContract('SQLite, every partition merged on every write', async () => {
  const tmp = tempDir('sg-store-');
  return {
    store: openSqliteStore(`${tmp.dir}/readings.sqlite`, { mergesPerWrite: 64, writesPerMerge: 1 }),
    cleanup: async () => tmp.cleanup(),
  };
});

describe('SQLite store schema', () => {
  it('refuses a file with another schema version instead of writing into it', async () => {
    const tmp = tempDir('sg-store-');
    const path = `${tmp.dir}/old.sqlite`;
    const db = new DatabaseSync(path);
    db.exec('CREATE TABLE readings (site TEXT, sensor TEXT, ts INTEGER, vals TEXT)');
    db.close();
    expect(() => openSqliteStore(path)).toThrow(expect.objectContaining({ code: 'SG_ERR_STORE_SCHEMA' }));
    // A current file opens again fine.
    const fresh = openSqliteStore(`${tmp.dir}/new.sqlite`);
    await fresh.close();
    const again = openSqliteStore(`${tmp.dir}/new.sqlite`);
    expect(await again.count()).toBe(0);
    await again.close();
    tmp.cleanup();
  });

  it('migrates a version 2 file (with its `latest` table) to version 4 without losing a reading', async () => {
    const tmp = tempDir('sg-store-');
    const path = `${tmp.dir}/v2.sqlite`;
    const db = new DatabaseSync(path);
    db.exec(`
      CREATE TABLE sensors (sid INTEGER PRIMARY KEY, site TEXT NOT NULL, sensor TEXT NOT NULL, UNIQUE (site, sensor));
      CREATE TABLE readings (sid INTEGER NOT NULL, ts INTEGER NOT NULL, gateway TEXT NOT NULL, kind TEXT NOT NULL,
        q TEXT, vals TEXT NOT NULL, PRIMARY KEY (sid, ts)) WITHOUT ROWID;
      CREATE TABLE latest (sid INTEGER PRIMARY KEY, ts INTEGER NOT NULL, gateway TEXT NOT NULL, kind TEXT NOT NULL,
        q TEXT, vals TEXT NOT NULL);
      INSERT INTO sensors VALUES (1, 's1', 't1');
      INSERT INTO readings VALUES (1, 100, 'g1', 'tilt', NULL, '{"x":1}'), (1, 200, 'g1', 'tilt', 'suspect', '{"x":2}');
      INSERT INTO latest VALUES (1, 200, 'g1', 'tilt', 'suspect', '{"x":2}');
      PRAGMA user_version = 2;`);
    db.close();
    const store = openSqliteStore(path);
    expect(await store.count()).toBe(2);
    expect(await store.latest()).toEqual([
      { site: 's1', gateway: 'g1', sensor: 't1', kind: 'tilt', ts: 200, q: 'suspect', values: { x: 2 } },
    ]);
    await store.write([{ site: 's1', gateway: 'g1', sensor: 't1', kind: 'tilt', ts: 300, values: { x: 3 } }]);
    expect((await store.latest()).map((r) => r.ts)).toEqual([300]);
    await store.close();
    const after = new DatabaseSync(path);
    expect(after.prepare('PRAGMA user_version').get()).toEqual({ user_version: 4 });
    expect(after.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name LIKE 'ingest_%'").get()).toEqual(
      {
        n: 64,
      },
    );
    expect(after.prepare("SELECT name FROM sqlite_master WHERE name = 'latest'").get()).toBeUndefined();
    after.close();
    tmp.cleanup();
  });
});
