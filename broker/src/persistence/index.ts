import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import type { SessionMarks } from '../aedes-fixes.ts';
import { type LevelLike, openSqliteLevel } from './sqlite-level.ts';

export type PersistenceOptions =
  | { kind: 'memory' }
  | { kind: 'sqlite'; path: string }
  /** Shared by the nodes of a cluster (persistence/redis.ts); BrokerOptions.cluster sets it. */
  | { kind: 'redis'; url: string };

/**
 * Sessions, subscriptions, retained messages, wills and QoS 1/2 queues on disk: the
 * aedes-persistence-level code over a node:sqlite key-value table (docs/broker.md#persistence).
 *
 * The enqueue step is serialised: Aedes drops a QoS message as a duplicate when its brokerCounter
 * is lower than one already delivered to that client (`dedupe` in aedes lib/client.js), so queued
 * messages must reach delivery in the order they were published. LevelDB's writes complete out of
 * order, which is the loss the issue measured; the FIFO here makes the order explicit.
 */
export function createSqlitePersistence(path: string): {
  persistence: AsyncLevelPersistence;
  marks: SessionMarks;
} {
  const level = openSqliteLevel(path);
  return { persistence: serialiseEnqueue(new AsyncLevelPersistence(level)), marks: levelSessionMarks(level) };
}

/**
 * Which client ids have a session (aedes-fixes.ts, Session Present), as `session:<id>` keys next to
 * the persistence's own (`subscriptions:`, `outgoing:`, ...; no range of its covers them).
 */
export function levelSessionMarks(level: LevelLike): SessionMarks {
  const key = (id: string) => `session:${encodeURIComponent(id)}`;
  return {
    has: async (id) => (await level.get(key(id))) !== undefined,
    add: (id) => level.put(key(id), new Uint8Array([1])),
    delete: (id) => level.del(key(id)),
  };
}

/** Makes `outgoingEnqueueCombi` complete in call order (a FIFO of promises). */
export function serialiseEnqueue<
  P extends { outgoingEnqueueCombi(subs: unknown[], packet: unknown): Promise<unknown> },
>(persistence: P): P {
  const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
  let tail: Promise<unknown> = Promise.resolve();
  persistence.outgoingEnqueueCombi = (subs: unknown[], packet: unknown) => {
    const run = tail.then(() => enqueue(subs, packet));
    tail = run.catch(() => undefined);
    return run;
  };
  return persistence;
}
