import { openSqliteStore } from '../src/index.ts';
import { tempDir } from './helpers.ts';
import { storeContract } from './store-contract.ts';

storeContract('SQLite (node:sqlite, WAL)', async () => {
  const tmp = tempDir('sg-store-');
  return { store: openSqliteStore(`${tmp.dir}/sub/dir/readings.sqlite`), cleanup: async () => tmp.cleanup() };
});
