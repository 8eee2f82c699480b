import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { afterAll, describe, expect, it } from 'vitest';
import { startAgent, tempDir, waitFor } from './helpers.ts';

/**
 * The disk quota: with the uplink unreachable and a small quota, readings are dropped by the
 * configured policy, and the loss shows in the status and as a `queue_dropped` event in the queue.
 */
describe('queue quota', () => {
  const tmp = tempDir('quota');
  let agent: EdgeAgent | undefined;
  afterAll(async () => {
    await agent?.stop();
    tmp.cleanup();
  });

  it('drops the oldest readings when full and reports the loss', async () => {
    const t0 = Date.now(); // the simulated clock starts here
    agent = await startAgent(
      {
        site: 'quota-site',
        gateway: 'gw-q',
        dataDir: join(tmp.dir, 'data'),
        uplink: { url: 'mqtt://127.0.0.1:9', reconnectMinMs: 1000 }, // discard port: never connects
        queue: { maxReadings: 1000, commitIntervalMs: 50 },
        drivers: [
          {
            driver: 'synthetic',
            id: 'syn',
            sensors: ['a', 'b', 'c', 'd'].map((id) => ({ id: `rain-${id}`, kind: 'rain', intervalMs: 1000 })),
          },
        ],
      },
      600,
    );
    const a = agent;
    await waitFor('readings dropped', () => a.queue.stats().dropped > 200);
    a.queue.commit(); // what is buffered goes in now, under the quota
    const status = a.status() as { queue: { depth: number; dropped: number } };
    expect(status.queue.depth).toBeLessThanOrEqual(1000);
    expect(status.queue.dropped).toBeGreaterThan(200);
    const events = await waitFor('queue_dropped event', () =>
      a.queue.events(0, 100).filter((e) => JSON.parse(e.payload).type === 'queue_dropped'),
    );
    expect(JSON.parse(events[0]?.payload ?? '{}')).toMatchObject({
      type: 'queue_dropped',
      policy: 'drop-oldest',
    });
    // The oldest went: with > 200 dropped from 4 sensors at 1 s, the oldest left is > 50 s in.
    const oldest = a.queue.stats().oldestTs ?? 0;
    expect(oldest - t0).toBeGreaterThan(50_000);
  });

  it('keeps running on a queue in memory when the queue file cannot be opened', async () => {
    const blocker = join(tmp.dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where the data directory should be');
    const a = await startAgent(
      {
        site: 'quota-site',
        gateway: 'gw-m',
        dataDir: join(blocker, 'data'), // mkdir fails: ENOTDIR
        uplink: { url: 'mqtt://127.0.0.1:9' },
        drivers: [
          { driver: 'synthetic', id: 'syn', sensors: [{ id: 'rain-m', kind: 'rain', intervalMs: 1000 }] },
        ],
      },
      600,
    );
    try {
      await waitFor('readings queued in memory', () => a.queue.stats().depth > 10);
      expect((a.status() as { queue: { durable: boolean } }).queue.durable).toBe(false);
    } finally {
      await a.stop();
    }
  });
});
