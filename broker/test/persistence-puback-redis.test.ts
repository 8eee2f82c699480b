import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDurablePuback } from '../src/persistence/durable-puback.ts';
import { createRedisPersistence } from '../src/persistence/redis.ts';
import { connect, tempDir, until } from './helpers.ts';
import { type RedisServer, startRedis } from './redis-server.ts';

/**
 * persistence-puback.test.ts for a cluster node's session store: the Redis persistence
 * (aedes-persistence-redis on a real redis-server) with the same durable-PUBACK wrapper. Every
 * enqueue is delayed 150 ms (a slow Redis), so that a PUBACK sent before the enqueue committed
 * would be seen.
 */
const DELAY_MS = 150;

type Persistence = ReturnType<typeof createRedisPersistence>['persistence'] & {
  outgoingStream(c: { id: string }): AsyncIterable<{ payload: Buffer }>;
};

async function queued(p: Persistence, clientId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const packet of p.outgoingStream({ id: clientId }))
    out.push(Buffer.from(packet.payload).toString());
  return out;
}

describe('PUBACK after the message is queued in Redis for persistent sessions', () => {
  const tmp = tempDir('sg-puback-redis-');
  let redis: RedisServer;
  const closers: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    redis = await startRedis(tmp.dir);
  }, 60_000);
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await redis?.stop();
    tmp.cleanup();
  });

  async function start(withHold: boolean, subscriber: string) {
    const durable = createDurablePuback();
    const persistence = createRedisPersistence(redis.url).persistence as Persistence;
    const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
    persistence.outgoingEnqueueCombi = async (subs, packet) => {
      await new Promise((r) => setTimeout(r, DELAY_MS));
      return enqueue(subs, packet);
    };
    if (withHold) durable.wrap(persistence);
    const allow: NonNullable<AedesOptions['authorizePublish']> = (_c, _p, done) => done(null);
    const aedes = await Aedes.createBroker({
      persistence,
      authorizePublish: withHold ? durable.authorizePublish(allow) : allow,
    });
    const server: Server = createServer((s) => aedes.handle(s));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(async () => {
      await new Promise<void>((r) => aedes.close(() => r()));
      server.close();
      await persistence.destroy();
    });
    const port = (server.address() as { port: number }).port;
    const sub = await connect(port, { clientId: subscriber, clean: false });
    await sub.subscribeAsync('events/#', { qos: 1 });
    await sub.endAsync();
    await until(() => !(aedes as unknown as { clients: Record<string, unknown> }).clients[subscriber]);
    return { port, persistence };
  }

  async function publishAndCheck(withHold: boolean, subscriber: string, n: number): Promise<boolean[]> {
    const { port, persistence } = await start(withHold, subscriber);
    const pub = await connect(port, { clientId: `gateway-${subscriber}` });
    const inQueueAtPuback = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        await pub.publishAsync('events/x', `m${i}`, { qos: 1 });
        return (await queued(persistence, subscriber)).includes(`m${i}`);
      }),
    );
    await pub.endAsync();
    await until(async () => (await queued(persistence, subscriber)).length === n);
    return inQueueAtPuback;
  }

  it('without the hold, Aedes 1.2 acknowledges before Redis has the message (the defect)', async () => {
    const result = await publishAndCheck(false, 'offline-a', 5);
    expect(result.filter((q) => !q).length).toBeGreaterThan(0);
  });

  it('with the hold (as a cluster node runs), every PUBACK comes after its message is in Redis', async () => {
    expect(await publishAndCheck(true, 'offline-b', 5)).toEqual([true, true, true, true, true]);
  });
});
