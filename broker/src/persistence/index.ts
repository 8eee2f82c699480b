import AsyncLevelPersistence from 'aedes-persistence-level/asyncPersistence.js';
import { openSqliteLevel } from './sqlite-level.ts';

export type PersistenceOptions = { kind: 'memory' } | { kind: 'sqlite'; path: string };

/**
 * Sessions, subscriptions, retained messages, wills and QoS 1/2 queues on disk: the
 * aedes-persistence-level code over a node:sqlite key-value table (docs/broker.md#persistence).
 *
 * The enqueue step is serialised: Aedes drops a QoS message as a duplicate when its brokerCounter
 * is lower than one already delivered to that client (`dedupe` in aedes lib/client.js), so queued
 * messages must reach delivery in the order they were published. LevelDB's writes complete out of
 * order, which is the loss the issue measured; the FIFO here makes the order explicit.
 */
export function createSqlitePersistence(path: string): AsyncLevelPersistence {
  return serialiseEnqueue(new AsyncLevelPersistence(openSqliteLevel(path)));
}

/** Makes `outgoingEnqueueCombi` complete in call order (a FIFO of promises). */
export function serialiseEnqueue(persistence: AsyncLevelPersistence): AsyncLevelPersistence {
  const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
  let tail: Promise<unknown> = Promise.resolve();
  persistence.outgoingEnqueueCombi = (subs: unknown[], packet: unknown) => {
    const run = tail.then(() => enqueue(subs, packet));
    tail = run.catch(() => undefined);
    return run;
  };
  return persistence;
}
