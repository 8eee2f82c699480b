import type { Logger } from 'pino';
import type { BrokerMetrics } from './metrics.ts';
import type { Store, StoredReading } from './store/types.ts';

export interface RecorderOptions {
  store: Store;
  metrics: BrokerMetrics;
  logger: Logger;
  /** How long the first message of a batch waits for others to join it (group commit). */
  maxDelayMs?: number;
  /** A batch is written as soon as it holds this many readings. */
  maxBatch?: number;
  /** Store writes in flight at once (SQLite is synchronous anyway; Influx profits from 2-4). */
  concurrency?: number;
  /** Retry back-off after a failed store write: first and maximum delay. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface Recorder {
  /** Resolves when the readings are durable. Never rejects: a failing store is retried. */
  submit(readings: readonly StoredReading[], receivedAt?: number): Promise<void>;
  /** Number of readings accepted but not yet durable. */
  readonly pending: number;
  /** Writes everything pending (retrying as needed) and stops accepting. */
  close(): Promise<void>;
}

interface Entry {
  readings: readonly StoredReading[];
  receivedAt: number;
  resolve: () => void;
}

/**
 * Group commit: messages arriving within `maxDelayMs` (or until `maxBatch` readings) share one store
 * write, and each message's promise resolves after that write is durable. The broker holds the
 * PUBACK on that promise, so an acknowledged reading is never only in memory.
 */
export function createRecorder(options: RecorderOptions): Recorder {
  const { store, metrics } = options;
  const log = options.logger.child({ component: 'recorder' });
  const maxDelayMs = options.maxDelayMs ?? 2;
  const maxBatch = options.maxBatch ?? 5000;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const retryMinMs = options.retryMinMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 5000;

  let queue: Entry[] = [];
  let queuedReadings = 0;
  let inFlight = 0;
  let pendingReadings = 0;
  let timer: NodeJS.Timeout | undefined;
  let closing = false;
  const idleWaiters: (() => void)[] = [];

  function schedule(): void {
    if (queue.length === 0 || inFlight >= concurrency) return;
    if (queuedReadings >= maxBatch || closing) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      void flushOne();
    } else if (!timer) {
      timer = setTimeout(() => {
        timer = undefined;
        void flushOne();
      }, maxDelayMs);
    }
  }

  function takeBatch(): Entry[] {
    // Whole messages only: a message's readings are durable together or not at all.
    let n = 0;
    let count = 0;
    while (n < queue.length && (n === 0 || count + (queue[n]?.readings.length ?? 0) <= maxBatch)) {
      count += queue[n]?.readings.length ?? 0;
      n++;
    }
    const batch = queue.slice(0, n);
    queue = queue.slice(n);
    queuedReadings -= count;
    return batch;
  }

  async function writeWithRetry(readings: StoredReading[]): Promise<void> {
    let delay = retryMinMs;
    let failures = 0;
    for (;;) {
      const t0 = performance.now();
      try {
        await store.write(readings);
        metrics.storeWriteSeconds.observe((performance.now() - t0) / 1000);
        if (failures > 0)
          log.info({ failures, readings: readings.length }, 'store write succeeded after retries');
        return;
      } catch (err) {
        metrics.storeErrors.inc();
        // Log the first failure of a run and then every 10th, not each one.
        if (failures % 10 === 0)
          log.warn({ err, failures, retryInMs: delay }, 'store write failed; retrying');
        failures++;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(retryMaxMs, delay * 2);
      }
    }
  }

  async function flushOne(): Promise<void> {
    if (queue.length === 0 || inFlight >= concurrency) return;
    const batch = takeBatch();
    inFlight++;
    const readings = batch.flatMap((e) => e.readings);
    await writeWithRetry(readings);
    inFlight--;
    const now = performance.now();
    pendingReadings -= readings.length;
    metrics.readingsStored.inc(readings.length);
    metrics.recorderBuffered.set(pendingReadings);
    for (const e of batch) {
      metrics.publishToDurableSeconds.observe((now - e.receivedAt) / 1000);
      e.resolve();
    }
    // Messages that arrived during the write have waited long enough: write them at once.
    if (queue.length > 0) void flushOne();
    if (pendingReadings === 0) for (const w of idleWaiters.splice(0)) w();
  }

  return {
    submit(readings, receivedAt = performance.now()) {
      if (readings.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        queue.push({ readings, receivedAt, resolve });
        queuedReadings += readings.length;
        pendingReadings += readings.length;
        metrics.recorderBuffered.set(pendingReadings);
        schedule();
      });
    },
    get pending() {
      return pendingReadings;
    },
    async close() {
      closing = true;
      if (pendingReadings === 0) return;
      const idle = new Promise<void>((r) => idleWaiters.push(r));
      schedule();
      await idle;
    },
  };
}
