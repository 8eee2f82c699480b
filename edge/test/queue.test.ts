import { join } from 'node:path';
import type { Reading } from '@slopeguard/core';
import { type Batch, ReadingQueue } from '@slopeguard/edge/queue/queue.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.ts';

/** The durable queue on real SQLite files (node:sqlite, WAL). */
const tmp = tempDir('queue');
afterAll(() => tmp.cleanup());

let n = 0;
function open(name: string, over: Partial<ConstructorParameters<typeof ReadingQueue>[0]> = {}): ReadingQueue {
  return new ReadingQueue({
    path: join(tmp.dir, `${name}.db`),
    synchronous: 'FULL',
    maxReadings: 1_000_000,
    minFreeMb: 0,
    policy: 'drop-oldest',
    ...over,
  });
}
const reading = (sensor: string, ts: number): Reading => ({ sensor, kind: 'rain', ts, values: { mm: ++n } });
const body = (b: Batch) => JSON.parse(b.payload) as { seq: number; readings: Reading[] };

describe('ReadingQueue', () => {
  it('cuts batches in arrival order with seq rising by one, and deletes only acknowledged batches', () => {
    const q = open('order');
    for (let i = 0; i < 10; i++) q.append(reading(i % 2 ? 'a' : 'b', 1000 + i));
    const { assigned } = q.commit((cut) => [cut.live(0, 4), cut.live(0, 4), cut.live(0, 4), cut.live(0, 4)]);
    const batches = (assigned ?? []).filter((b): b is Batch => b !== undefined);
    expect(batches.map((b) => [body(b).seq, b.count])).toEqual([
      [0, 4],
      [1, 4],
      [2, 2],
    ]);
    expect(batches.flatMap((b) => body(b).readings.map((r) => r.ts))).toEqual([
      1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009,
    ]);
    q.ack(batches[1] as Batch);
    q.commit();
    expect(q.stats().depth).toBe(6);
    expect(q.unacknowledged().map((b) => b.seq)).toEqual([0, 2]);
    q.close();
  });

  it('keeps seq and unacknowledged batches across a reopen (the same payload is resent)', () => {
    const q = open('reopen');
    for (let i = 0; i < 5; i++) q.append(reading('a', i));
    const first = q.commit((cut) => cut.live(0, 3)).assigned as Batch;
    q.close();
    const again = open('reopen');
    expect(again.unacknowledged()).toEqual([first]);
    const next = again.commit((cut) => cut.live(0, 10)).assigned as Batch;
    expect(body(next).seq).toBe(body(first).seq + 1);
    expect(body(next).readings.map((r) => r.ts)).toEqual([3, 4]);
    again.close();
  });

  it('splits backlog from live at a boundary and drains the backlog in order', () => {
    const q = open('backlog');
    for (let i = 0; i < 6; i++) q.append(reading('a', i));
    q.commit();
    const boundary = q.lastId;
    for (let i = 6; i < 8; i++) q.append(reading('a', i));
    const { assigned } = q.commit((cut) => {
      const live = cut.live(boundary, 100) as Batch;
      const b1 = cut.backlog(0, boundary, 4) as Batch;
      const b2 = cut.backlog(b1.lastId, boundary, 4) as Batch;
      return [live, b1, b2, cut.backlog(b2.lastId, boundary, 4)];
    });
    const [live, b1, b2, none] = assigned ?? [];
    expect(body(live as Batch).readings.map((r) => r.ts)).toEqual([6, 7]);
    expect(body(b1 as Batch).readings.map((r) => r.ts)).toEqual([0, 1, 2, 3]);
    expect(body(b2 as Batch).readings.map((r) => r.ts)).toEqual([4, 5]);
    expect(none).toBeUndefined();
    q.close();
  });

  it('when full, drops the oldest readings taken at level 0 first, and counts them durably', () => {
    const q = open('quota', { maxReadings: 1000 });
    for (let i = 0; i < 10; i++) q.append(reading('a', i), true); // taken while the level was raised
    for (let i = 10; i < 1000; i++) q.append(reading('a', i));
    q.commit();
    for (let i = 1000; i < 1100; i++) q.append(reading('a', i));
    expect(q.commit().dropped).toBe(100);
    const s = q.stats();
    expect(s).toMatchObject({ depth: 1000, dropped: 100 });
    q.close();
    const again = open('quota', { maxReadings: 1000 });
    expect(again.stats().dropped).toBe(100);
    const all = body(again.commit((cut) => cut.live(0, 1000)).assigned as Batch).readings.map((r) => r.ts);
    // The 10 alerting readings survive; readings 10..109 went.
    expect(all.slice(0, 11)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 110]);
    again.close();
  });

  it('when one commit brings more than the quota holds, drop-oldest keeps only the newest', () => {
    // A stalled event loop (a loaded CPU) can hand one commit more readings than the whole quota.
    const q = open('overflow', { maxReadings: 1000 });
    for (let i = 0; i < 1000; i++) q.append(reading('a', i));
    q.commit();
    for (let i = 1000; i < 2432; i++) q.append(reading('a', i));
    expect(q.commit()).toMatchObject({ inserted: 1000, dropped: 1432 });
    expect(q.stats()).toMatchObject({ depth: 1000, dropped: 1432, oldestTs: 1432 });
    q.close();
  });

  it('with policy refuse-new, keeps the backlog and refuses what does not fit', () => {
    const q = open('refuse', { maxReadings: 1000, policy: 'refuse-new' });
    for (let i = 0; i < 1050; i++) q.append(reading('a', i));
    expect(q.commit()).toMatchObject({ inserted: 1000, dropped: 50 });
    expect(q.stats().oldestTs).toBe(0);
    q.close();
  });

  it('keeps events until acknowledged and saves engine state', () => {
    const q = open('events');
    q.appendEvent({ type: 'level', ts: 1, scope: 'local', level: 3, previous: 0, reasons: [] });
    q.appendEvent({ type: 'started', ts: 2, version: 'test' });
    q.saveState('rules', { level: 3 });
    q.commit();
    const ev = q.events(0, 10);
    expect(ev.map((e) => JSON.parse(e.payload).type)).toEqual(['level', 'started']);
    q.ackEvent(ev[0]?.id ?? -1);
    q.commit();
    q.close();
    const again = open('events');
    expect(again.events(0, 10).map((e) => JSON.parse(e.payload).type)).toEqual(['started']);
    expect(again.loadState('rules')).toEqual({ level: 3 });
    again.close();
  });
});
