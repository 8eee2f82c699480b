import { existsSync, readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore, type Store, type StoredReading } from '../src/index.ts';
import { createBrokerMetrics } from '../src/metrics.ts';
import { createRecorder } from '../src/recorder.ts';
import { silent, tempDir, until } from './helpers.ts';

/** A real SQLite store behind a switch: while `down`, every write fails (an outage). */
function switchable(store: Store) {
  const state = { down: false, writes: 0, failures: 0 };
  const wrapped: Store = {
    ...store,
    async write(batch) {
      if (state.down) {
        state.failures++;
        throw new Error('store down (test)');
      }
      state.writes++;
      return store.write(batch);
    },
  };
  return { store: wrapped, state };
}

const r = (sensor: string, ts: number): StoredReading => ({
  site: 's1',
  gateway: 'g1',
  sensor,
  kind: 'rain',
  ts,
  values: { mm: ts % 7 },
});

describe('recorder', () => {
  let tmp: ReturnType<typeof tempDir>;
  let sqlite: Store;
  beforeEach(() => {
    tmp = tempDir('sg-rec-');
    sqlite = openSqliteStore(`${tmp.dir}/r.sqlite`);
  });
  afterEach(async () => {
    await sqlite.close();
    tmp.cleanup();
  });
  const options = () => ({
    metrics: createBrokerMetrics(new Registry()),
    logger: silent,
    retryMinMs: 10,
    retryMaxMs: 40,
  });

  it('without a spill file, holds acknowledgements while the store is down and releases them once it is back', async () => {
    const s = switchable(sqlite);
    s.state.down = true;
    const rec = createRecorder({ ...options(), store: s.store });
    let done = false;
    const p = rec.submit([r('a', 1), r('b', 1)]).then(() => {
      done = true;
    });
    // Several retries happen; the promise (the PUBACK) must still be pending.
    await until(() => s.state.failures >= 3);
    expect(done).toBe(false);
    expect(rec.pending).toBe(2);
    s.state.down = false;
    await p;
    expect(await sqlite.count()).toBe(2);
    await rec.close();
  });

  it('spills to disk after spillAfterMs, acknowledges, and drains into the store when it is back', async () => {
    const s = switchable(sqlite);
    s.state.down = true;
    const rec = createRecorder({
      ...options(),
      store: s.store,
      spillPath: `${tmp.dir}/spill.jsonl`,
      spillAfterMs: 50,
    });
    await rec.start();
    await Promise.all([rec.submit([r('a', 1)]), rec.submit([r('a', 2), r('b', 2)])]);
    expect(rec.spilled).toBe(3);
    expect(await sqlite.count()).toBe(0);
    s.state.down = false;
    await rec.submit([r('c', 3)]); // a successful write starts the drain
    await rec.idle();
    expect(rec.spilled).toBe(0);
    expect(await sqlite.count()).toBe(4);
    await rec.close();
  });

  it('spills at once when more than maxBuffered readings wait', async () => {
    const s = switchable(sqlite);
    s.state.down = true;
    const rec = createRecorder({
      ...options(),
      store: s.store,
      spillPath: `${tmp.dir}/spill.jsonl`,
      spillAfterMs: 60_000,
      maxBuffered: 5,
      maxDelayMs: 1,
    });
    const first = rec.submit([r('a', 1)]);
    await until(() => s.state.failures >= 1); // the store is now known to be failing
    // With 'a', the fifth 'b' makes six waiting readings, over the bound of five: the queued ones
    // are spilled and acknowledged at once, long before spillAfterMs. The sixth 'b' is within the
    // bound again and waits in memory; the batch in flight keeps retrying.
    const bs = Array.from({ length: 6 }, (_, i) => rec.submit([r('b', i)]));
    await Promise.all(bs.slice(0, 5));
    expect(rec.spilled).toBe(5);
    expect(rec.pending).toBe(2);
    s.state.down = false;
    await Promise.all([first, bs[5]]);
    await rec.idle();
    expect(await sqlite.count()).toBe(7);
    await rec.close();
  });

  it('resumes from the spill file after a restart', async () => {
    const spillPath = `${tmp.dir}/spill.jsonl`;
    const s = switchable(sqlite);
    s.state.down = true;
    const first = createRecorder({ ...options(), store: s.store, spillPath, spillAfterMs: 20 });
    await first.submit([r('a', 1), r('a', 2)]);
    await first.close(); // store still down: the spill file stays
    expect(existsSync(spillPath) || existsSync(`${spillPath}.draining`)).toBe(true);

    s.state.down = false;
    const second = createRecorder({ ...options(), store: s.store, spillPath });
    expect(second.spilled).toBe(2);
    await second.start();
    await second.idle();
    expect(await sqlite.count()).toBe(2);
    expect(existsSync(spillPath) || existsSync(`${spillPath}.draining`)).toBe(false);
    await second.close();
  });

  it('sets aside a message the store refuses as invalid, stores the rest of the batch, and acknowledges both', async () => {
    const metrics = createBrokerMetrics(new Registry());
    const picky: Store = {
      ...sqlite,
      async write(batch) {
        if (batch.some((x) => x.ts > 1e12)) {
          throw Object.assign(new Error('timestamp out of range (test)'), { code: 'SG_ERR_STORE_REJECTED' });
        }
        return sqlite.write(batch);
      },
    };
    const spillPath = `${tmp.dir}/spill.jsonl`;
    const rec = createRecorder({ ...options(), metrics, store: picky, spillPath, maxDelayMs: 5 });
    await Promise.all([
      rec.submit([r('a', 1)]),
      rec.submit([r('b', 2e12), r('b', 3)]),
      rec.submit([r('c', 4)]),
    ]);
    expect(await sqlite.count()).toBe(2); // a and c; the whole refused message is set aside
    expect(readFileSync(`${spillPath}.rejected`, 'utf8')).toContain('"ts":2000000000000');
    expect(await metrics.rejected.get()).toMatchObject({
      values: [{ labels: { reason: 'store_rejected' }, value: 1 }],
    });
    expect(rec.pending).toBe(0);
    await rec.close();
  });

  it('gives up at close after closeTimeoutMs when the store stays down and nothing can be spilled, acknowledging nothing', async () => {
    const s = switchable(sqlite);
    s.state.down = true;
    const rec = createRecorder({ ...options(), store: s.store, closeTimeoutMs: 100 });
    let acked = false;
    void rec.submit([r('a', 1)]).then(() => {
      acked = true;
    });
    await until(() => s.state.failures >= 1);
    await rec.close();
    const failuresAtClose = s.state.failures;
    expect(acked).toBe(false);
    // The retry loop has stopped: no further attempts after close (bounded wait for one more).
    await expect(until(() => s.state.failures > failuresAtClose + 1, 300)).rejects.toThrow();
  });

  it('drains a spill file past a reading the store cannot take (set aside, not retried forever)', async () => {
    const s = switchable(sqlite);
    s.state.down = true;
    const metrics = createBrokerMetrics(new Registry());
    const poisonable: Store = {
      ...s.store,
      async write(batch) {
        if (!s.state.down && batch.some((x) => x.sensor === 'poison')) throw new Error('cannot store (test)');
        return s.store.write(batch);
      },
    };
    const spillPath = `${tmp.dir}/spill.jsonl`;
    const rec = createRecorder({ ...options(), metrics, store: poisonable, spillPath, spillAfterMs: 20 });
    await rec.start();
    await Promise.all([rec.submit([r('a', 1), r('poison', 1)]), rec.submit([r('b', 2)])]);
    expect(rec.spilled).toBe(3);
    s.state.down = false;
    await rec.submit([r('c', 3)]); // a successful write starts the drain
    await rec.idle();
    expect(rec.spilled).toBe(0);
    expect(await sqlite.count()).toBe(3); // a, b, c
    expect(readFileSync(`${spillPath}.rejected`, 'utf8')).toContain('"sensor":"poison"');
    expect(await metrics.rejected.get()).toMatchObject({
      values: [{ labels: { reason: 'store_rejected' }, value: 1 }],
    });
    await rec.close();
  });

  it('groups concurrent submissions into few store writes (group commit)', async () => {
    const s = switchable(sqlite);
    const rec = createRecorder({ ...options(), store: s.store, maxDelayMs: 5 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => rec.submit([r(`x${i}`, i)])));
    expect(await sqlite.count()).toBe(100);
    expect(s.state.writes).toBeLessThanOrEqual(3);
    await rec.close();
  });
});
