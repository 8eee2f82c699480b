import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDurablePuback, type EnqueueingPersistence } from '../src/persistence/durable-puback.ts';
import { serialiseEnqueue } from '../src/persistence/index.ts';
import { createRedisPersistence } from '../src/persistence/redis.ts';
import { type LevelLike, openSqliteLevel } from '../src/persistence/sqlite-level.ts';
import { connect, tempDir, until } from './helpers.ts';
import { type RedisServer, startRedis } from './redis-server.ts';

/**
 * A QoS 1 PUBACK must not leave before the message is in the queue of every matching persistent
 * session (issue 13): otherwise a broker killed right after the PUBACK has acknowledged a message
 * the offline control center never gets. Aedes 1.2 writes the PUBACK first and queues afterwards
 * (lib/handlers/publish.js). To make the order observable, every queue write is delayed 150 ms.
 *
 * The same test for both session stores the broker runs, each with the durable-PUBACK wrapper:
 * - sqlite: the aedes-persistence-level code over our SQLite adapter (a single node), its puts slow;
 * - redis: aedes-persistence-redis on a real redis-server started here (a cluster node), its
 *   enqueues slow (a slow Redis).
 */
const DELAY_MS = 150;

const sleep = () => new Promise((r) => setTimeout(r, DELAY_MS));

function slowPuts(db: LevelLike): LevelLike {
  const put = db.put.bind(db);
  return Object.assign(Object.create(db) as LevelLike, {
    async put(key: string, value: Uint8Array) {
      await sleep();
      return put(key, value);
    },
  });
}

type Persistence = EnqueueingPersistence & {
  outgoingStream(c: { id: string }): AsyncIterable<{ payload: Buffer }>;
  destroy(): Promise<void>;
};

async function queued(p: Persistence, clientId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const packet of p.outgoingStream({ id: clientId }))
    out.push(Buffer.from(packet.payload).toString());
  return out;
}

interface Store {
  name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  /** A fresh persistence whose queue writes are slow; `wrap` puts the durable-PUBACK hold on it. */
  open(wrap: ((p: Persistence) => Persistence) | undefined): Persistence;
}

const sqlite: Store = {
  name: 'SQLite (aedes-persistence-level)',
  setUp: async () => {},
  tearDown: async () => {},
  open(wrap) {
    const level = serialiseEnqueue(
      new AsyncLevelPersistence(slowPuts(openSqliteLevel(':memory:'))),
    ) as unknown as Persistence;
    return wrap ? wrap(level) : level;
  },
};

function redisStore(): Store {
  const tmp = tempDir('sg-puback-redis-');
  let redis: RedisServer | undefined;
  return {
    name: 'Redis (aedes-persistence-redis on redis-server)',
    async setUp() {
      redis = await startRedis(tmp.dir);
    },
    async tearDown() {
      await redis?.stop();
      tmp.cleanup();
    },
    open(wrap) {
      if (!redis) throw new Error('redis-server not started');
      const persistence = createRedisPersistence(redis.url).persistence as unknown as Persistence;
      const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
      persistence.outgoingEnqueueCombi = async (subs: unknown[], packet: unknown) => {
        await sleep();
        return enqueue(subs, packet);
      };
      return wrap ? wrap(persistence) : persistence;
    },
  };
}

describe.each([sqlite, redisStore()])('PUBACK after the message is queued: $name', (store) => {
  const closers: (() => Promise<void>)[] = [];
  // Redis outlives each test: every test uses its own client ids.
  let run = 0;
  beforeAll(() => store.setUp(), 60_000);
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });
  afterAll(() => store.tearDown());

  async function start(withHold: boolean): Promise<{ port: number; persistence: Persistence; aedes: Aedes }> {
    const durable = createDurablePuback();
    const persistence = store.open(withHold ? (p) => durable.wrap(p) : undefined);
    const allow: NonNullable<AedesOptions['authorizePublish']> = (_c, _p, done) => done(null);
    const aedes = await Aedes.createBroker({
      persistence: persistence as unknown as AedesOptions['persistence'],
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
    return { port: (server.address() as { port: number }).port, persistence, aedes };
  }

  /** Publishes `n` QoS 1 messages at once; for each PUBACK, whether its message was queued for the offline session. */
  async function publishAndCheck(withHold: boolean, n: number): Promise<boolean[]> {
    const { port, persistence, aedes } = await start(withHold);
    const offline = `offline-${++run}`;
    // A persistent session with a subscription, offline while the messages are published.
    const sub = await connect(port, { clientId: offline, clean: false });
    await sub.subscribeAsync('events/#', { qos: 1 });
    await sub.endAsync();
    await until(() => !(aedes as unknown as { clients: Record<string, unknown> }).clients[offline]);

    const pub = await connect(port, { clientId: `gateway-${run}` });
    const inQueueAtPuback = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        await pub.publishAsync('events/x', `m${i}`, { qos: 1 });
        return (await queued(persistence, offline)).includes(`m${i}`);
      }),
    );
    await pub.endAsync();
    // Whatever the order, every message ends up queued.
    await until(async () => (await queued(persistence, offline)).length === n);
    return inQueueAtPuback;
  }

  it('as Aedes 1.2 does it, PUBACK leaves before the message is queued (the defect)', async () => {
    const result = await publishAndCheck(false, 5);
    expect(result.filter((q) => !q).length).toBeGreaterThan(0);
  });

  it('with the hold, every PUBACK comes after its message is queued', async () => {
    const result = await publishAndCheck(true, 5);
    expect(result).toEqual([true, true, true, true, true]);
  });

  it('a PUBLISH to a topic with no persistent subscriber is acknowledged too', async () => {
    const { port } = await start(true);
    const pub = await connect(port, { clientId: `gateway-${++run}` });
    await expect(pub.publishAsync('nobody/listens', 'x', { qos: 1 })).resolves.toBeDefined();
    await pub.endAsync();
  });
});
