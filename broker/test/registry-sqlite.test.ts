import { afterAll } from 'vitest';
import { openDeviceRegistry } from '../src/index.ts';
import { tempDir } from './helpers.ts';
import { registryContract } from './registry-contract.ts';

const tmp = tempDir('sg-registry-');
afterAll(() => tmp.cleanup());
let n = 0;

registryContract('SQLite', {
  open: async () => openDeviceRegistry(`${tmp.dir}/registry-${n++}.sqlite`),
  second: async (first) => openDeviceRegistry(first.path),
  // SQLite commits before the call returns.
  settle: async () => {},
});
