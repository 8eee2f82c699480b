import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createDurablePuback } from '../src/persistence/durable-puback.ts';
import { serialiseEnqueue } from '../src/persistence/index.ts';
import { type LevelLike, openSqliteLevel } from '../src/persistence/sqlite-level.ts';
import { connect, until } from './helpers.ts';

/**
 * A QoS 1 PUBACK must not leave before the message is in the queue of every matching persistent
 * session (issue 13): otherwise a broker killed right after the PUBACK has acknowledged a message
 * the offline control center never gets. Aedes 1.2 writes the PUBACK first and queues afterwards
 * (lib/handlers/publish.js). To make the order observable, every queue write is delayed 150 ms
 * (the aedes-persistence-level code over our SQLite adapter, as the broker runs it).
 */
const DELAY_MS = 150;

function slowPuts(db: LevelLike): LevelLike {
  const put = db.put.bind(db);
  return Object.assign(Object.create(db) as LevelLike, {
    async put(key: string, value: Uint8Array) {
      await new Promise((r) => setTimeout(r, DELAY_MS));
      return put(key, value);
    },
  });
}

type Persistence = AsyncLevelPersistence & {
  outgoingStream(c: { id: string }): AsyncIterable<{ payload: Buffer }>;
};

async function queued(p: Persistence, clientId: string): Promise<string[]> {
  const out: string[] = [];
  for await (const packet of p.outgoingStream({ id: clientId }))
    out.push(Buffer.from(packet.payload).toString());
  return out;
}

describe('PUBACK after the message is queued for persistent sessions', () => {
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  async function start(withHold: boolean): Promise<{ port: number; persistence: Persistence; aedes: Aedes }> {
    const durable = createDurablePuback();
    const level = new AsyncLevelPersistence(slowPuts(openSqliteLevel(':memory:')));
    const persistence = (
      withHold ? durable.wrap(serialiseEnqueue(level)) : serialiseEnqueue(level)
    ) as Persistence;
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
    return { port: (server.address() as { port: number }).port, persistence, aedes };
  }

  /** Publishes `n` QoS 1 messages at once; for each PUBACK, whether its message was queued for `offline`. */
  async function publishAndCheck(withHold: boolean, n: number): Promise<boolean[]> {
    const { port, persistence, aedes } = await start(withHold);
    // A persistent session with a subscription, offline while the messages are published.
    const sub = await connect(port, { clientId: 'offline', clean: false });
    await sub.subscribeAsync('events/#', { qos: 1 });
    await sub.endAsync();
    await until(() => !(aedes as unknown as { clients: Record<string, unknown> }).clients.offline);

    const pub = await connect(port, { clientId: 'gateway' });
    const inQueueAtPuback = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        await pub.publishAsync('events/x', `m${i}`, { qos: 1 });
        return (await queued(persistence, 'offline')).includes(`m${i}`);
      }),
    );
    await pub.endAsync();
    // Whatever the order, every message ends up queued.
    await until(async () => (await queued(persistence, 'offline')).length === n);
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
    const pub = await connect(port, { clientId: 'gateway' });
    await expect(pub.publishAsync('nobody/listens', 'x', { qos: 1 })).resolves.toBeDefined();
    await pub.endAsync();
  });
});
