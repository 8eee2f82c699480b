import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisRegistry, type RedisDeviceRegistry } from '../src/auth/redis-registry.ts';
import { tempDir } from './helpers.ts';
import { freePort } from './influxd.ts';
import { type RedisServer, startRedis } from './redis-server.ts';
import { registryContract } from './registry-contract.ts';

/** The cluster's registry against a real redis-server (Debian package) on a free loopback port. */
const tmp = tempDir('sg-registry-redis-');
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis(tmp.dir);
}, 60_000);
afterAll(async () => {
  await redis?.stop();
  tmp.cleanup();
});

let n = 0;
const prefixes = new WeakMap<object, string>();
async function open(prefix: string): Promise<RedisDeviceRegistry> {
  const r = await openRedisRegistry({ url: redis.url, prefix });
  prefixes.set(r, prefix);
  return r;
}

describe('Redis registry', () => {
  registryContract('Redis', {
    // Each test its own key prefix: an empty registry without flushing the server.
    open: () => open(`t${n++}:`),
    second: (first) => open(prefixes.get(first) ?? ''),
    // In Redis, then the reader's replica has applied everything announced before its marker.
    settle: async (writer, reader) => {
      await (writer as RedisDeviceRegistry).flush();
      await (reader as RedisDeviceRegistry).sync();
    },
  });

  it('keeps rows across a reconnect of a node (they are in Redis, not in the node)', async () => {
    const a = await open('persist:');
    const secret = a.addDevice('hill-9', 'gw-1');
    await a.flush();
    a.close();
    const b = await open('persist:');
    expect((await b.verify('hill-9.gw-1', secret)).ok).toBe(true);
    b.close();
  });

  it('refuses to open (coded error, nothing left running) when Redis cannot be reached', async () => {
    const closed = `redis://127.0.0.1:${await freePort()}/0`;
    await expect(openRedisRegistry({ url: closed })).rejects.toMatchObject({
      code: 'SG_ERR_REGISTRY_UNAVAILABLE',
    });
  });

  it('flush rejects with a coded error when Redis refused the write', async () => {
    const a = await open('down:');
    a.addDevice('hill-8', 'gw-1');
    await a.flush();
    // Redis gone: the write cannot reach it, and flush says so (once).
    await redis.stop();
    a.addDevice('hill-8', 'gw-late');
    await expect(a.flush()).rejects.toMatchObject({ code: 'SG_ERR_REGISTRY_WRITE' });
    await expect(a.flush()).resolves.toBeUndefined();
    a.close();
    redis = await startRedis(tmp.dir);
  }, 30_000);
});
