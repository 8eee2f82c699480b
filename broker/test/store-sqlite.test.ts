import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { openSqliteStore } from '../src/index.ts';
import { tempDir } from './helpers.ts';
import { storeContract } from './store-contract.ts';

storeContract('SQLite (node:sqlite, WAL)', async () => {
  const tmp = tempDir('sg-store-');
  return { store: openSqliteStore(`${tmp.dir}/sub/dir/readings.sqlite`), cleanup: async () => tmp.cleanup() };
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
});
