import { Readable } from 'node:stream';
import AsyncRedisPersistence from 'aedes-persistence-redis/asyncPersistence.js';
import { Redis } from 'ioredis';
import MQEmitterRedis from 'mqemitter-redis';
import type { SessionMarks } from '../aedes-fixes.ts';
import { serialiseEnqueue } from './index.ts';

/**
 * Sessions, subscriptions, retained messages, wills and QoS 1/2 queues in Redis, shared by every
 * node of a cluster: aedes-persistence-redis 11 (the Aedes project's own), over one ioredis
 * connection the broker owns. The same wrappers as the SQLite persistence apply to it
 * (docs/deployment.md#cluster): the enqueue is serialised (queue order = publish order), the PUBACK
 * of a QoS 1 PUBLISH waits until the enqueue committed (durable-puback.ts), and the Aedes protocol
 * fixes (aedes-fixes.ts) keep their session marks in a Redis set.
 *
 * "Committed" means Redis answered the write: it survives any broker node being killed. Whether it
 * survives Redis itself being killed is Redis's configuration (appendonly yes, appendfsync always
 * for no loss; everysec may lose the last second).
 */
export function createRedisPersistence(url: string): {
  persistence: AsyncRedisPersistence;
  marks: SessionMarks;
} {
  const conn = new Redis(url, { maxRetriesPerRequest: 20 });
  // ioredis reconnects by itself; each failed command reaches Aedes (which closes that client).
  conn.on('error', () => {});
  const persistence = serialiseEnqueue(new AsyncRedisPersistence({ conn }));
  // Aedes 1.2 pipes the retained messages of a SUBSCRIBE (lib/handlers/subscribe.js `stream.pipe`):
  // it needs a stream, and this persistence answers an async generator (the level one, a Readable).
  const retained = (persistence as unknown as RetainedStreams).createRetainedStreamCombi.bind(persistence);
  (persistence as unknown as RetainedStreams).createRetainedStreamCombi = (patterns) =>
    Readable.from(retained(patterns));
  return { persistence, marks: redisSessionMarks(conn) };
}

interface RetainedStreams {
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<unknown> | Readable;
}

/** Which client ids have a session (aedes-fixes.ts, Session Present), as members of one Redis set. */
export function redisSessionMarks(conn: Redis, key = 'sg:sessions'): SessionMarks {
  return {
    has: async (id) => (await conn.sismember(key, id)) === 1,
    add: async (id) => {
      await conn.sadd(key, id);
    },
    delete: async (id) => {
      await conn.srem(key, id);
    },
  };
}

/**
 * Message routing between the nodes (mqemitter-redis: every PUBLISH goes through Redis pub/sub to
 * the nodes whose clients subscribed). Options as Aedes's own in-process emitter:
 * `matchEmptyLevels` for [MQTT-4.7.1-3].
 */
export function createRedisEmitter(url: string): unknown {
  return MQEmitterRedis({ connectionString: url, matchEmptyLevels: true, concurrency: 100 });
}
