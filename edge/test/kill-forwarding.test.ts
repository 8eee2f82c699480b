import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertRunning,
  kill,
  queuedReadings,
  spawnEdge,
  type TestBroker,
  tempDir,
  testBroker,
  waitFor,
  writeConfig,
} from './helpers.ts';

/**
 * kill -9 while batches are in flight (the broker up, its PUBACK held 300 ms after the store has the
 * readings): batches cut but not acknowledged are resent after the restart with their original seq;
 * the store ends with each reading once. The gateway is a
 * child process of the CLI on a 360x clock; the broker and store are the project's.
 */
describe('kill -9 while forwarding', () => {
  const tmp = tempDir('killfwd');
  let broker: TestBroker;
  let child: ChildProcess | undefined;
  const log = join(tmp.dir, 'edge.log');
  const dbFile = join(tmp.dir, 'data', 'queue.db');

  beforeAll(async () => {
    broker = await testBroker(tmp.dir, { ackDelayMs: 300 });
  });
  afterAll(async () => {
    if (child) await kill(child, 'SIGKILL');
    await broker.close();
    tmp.cleanup();
  });

  it('loses nothing committed and stores each reading once', async () => {
    const config = writeConfig(tmp.dir, 'gateway.yaml', {
      site: 'kill-site',
      gateway: 'gw-k',
      dataDir: join(tmp.dir, 'data'),
      uplink: { url: broker.url, batchIntervalMs: 0, batchMaxReadings: 100, maxInflight: 8 },
      queue: { commitIntervalMs: 20 },
      drivers: [
        {
          driver: 'synthetic',
          id: 'syn',
          sensors: ['k1', 'k2', 'k3', 'k4'].map((id) => ({ id, kind: 'rain', intervalMs: 1000 })),
        },
      ],
    });
    // Simulated time starts an hour back, so that at 60x it stays behind the broker's real clock: the
    // broker refuses readings from the future.
    const anchor = Date.now();
    const args = [
      '--time-scale',
      '60',
      '--time-anchor',
      String(anchor),
      '--time-start',
      String(anchor - 3_600_000),
      '--log-level',
      'warn',
    ];
    const committed = new Set<string>();
    for (let round = 0; round < 3; round++) {
      child = spawnEdge(config, args, log);
      const target = broker.offered.length + 300;
      await waitFor('forwarding', () => {
        assertRunning(child, log);
        return broker.offered.length >= target;
      });
      await kill(child, 'SIGKILL');
      for (const r of queuedReadings(dbFile)) committed.add(`${r.sensor}@${r.ts}`);
    }
    child = spawnEdge(config, args, log);
    const resumed = broker.offered.length + 200;
    await waitFor('forwarding again', () => {
      assertRunning(child, log);
      return broker.offered.length >= resumed;
    });
    expect(await kill(child, 'SIGTERM')).toBe(0);
    child = undefined;
    // With the PUBACK held, some readings are always awaiting it: still queued is not lost.
    const remaining = new Set(queuedReadings(dbFile).map((r) => `${r.sensor}@${r.ts}`));

    const stored = new Set(broker.offered.map((r) => `${r.sensor}@${r.ts}`));
    // Batches in flight at each kill were resent: the broker saw readings more than once ...
    expect(broker.offered.length).toBeGreaterThan(stored.size);
    expect(committed.size).toBeGreaterThan(0);
    expect([...committed].filter((k) => !stored.has(k) && !remaining.has(k))).toEqual([]);
    // ... and the store, idempotent on (site, sensor, ts), holds each once.
    expect(await broker.store.count({ site: 'kill-site' })).toBe(stored.size);
    const seqs = [...new Set(broker.telemetry.map((t) => t.seq))].sort((a, b) => a - b);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i));
  }, 90_000);
});
