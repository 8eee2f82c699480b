import { appendFileSync } from 'node:fs';
import { childLogger } from '@slopeguard/core/log.ts';
import type { Logger } from 'pino';
import { createBurstLog } from './burst-log.ts';
import type { BrokerMetrics } from './metrics.ts';
import { openSpillFile, type SpillFile } from './spill.ts';
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
  /**
   * Local spill file. When the store fails and readings have waited `spillAfterMs`, or more than
   * `maxBuffered` readings are waiting, they are appended here (fsynced) and acknowledged; a
   * background drain writes them to the store when it is back, and a restart resumes from it.
   * Without a spill file, readings wait in memory (their PUBACKs held) until the store is back.
   */
  spillPath?: string;
  maxBuffered?: number;
  spillAfterMs?: number;
  /**
   * How long close() waits for pending readings when the store is down and there is no spill
   * file (default 10 s). Then it gives up on them without acknowledging: their publishers still
   * hold the messages and resend them to the next broker, so nothing is lost.
   */
  closeTimeoutMs?: number;
}

export interface Recorder {
  /** Loads what a previous run left in the spill file and starts draining it. */
  start(): Promise<void>;
  /** Resolves when the readings are durable (store or spill file). Never rejects. */
  submit(readings: readonly StoredReading[], receivedAt?: number): Promise<void>;
  /** Readings accepted but not yet durable anywhere. */
  readonly pending: number;
  /** Readings in the spill file, waiting for the store. */
  readonly spilled: number;
  /** Resolves when nothing is pending and the spill file is drained (bounded wait, for tests). */
  idle(): Promise<void>;
  /** Makes everything pending durable and stops the drain. */
  close(): Promise<void>;
}

interface Entry {
  readings: readonly StoredReading[];
  receivedAt: number;
  resolve: () => void;
}

/**
 * Consecutive failed single-message writes after which an isolation round stops: the store is
 * down (an outage), not refusing one message, and writing the rest one by one would only load it.
 */
const ISOLATION_MAX_CONSECUTIVE_FAILURES = 8;

const codeOf = (err: unknown) => (err as { code?: string } | null)?.code;
const isRejectedError = (err: unknown) => codeOf(err) === 'SG_ERR_STORE_REJECTED';
/**
 * The stores' own write error (I/O, network, timeout, HTTP 5xx, SQLite busy or disk full) is about
 * the store, never about the message: such a failure is retried, however it falls between
 * successful writes (a timeout under load can).
 */
const isStoreTrouble = (err: unknown) =>
  ['SG_ERR_STORE_WRITE', 'SG_ERR_STORE_CLOSED'].includes(codeOf(err) ?? '');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Group commit: messages arriving within `maxDelayMs` (or until `maxBatch` readings) share one store
 * write, and each message's promise resolves after that write is durable. The broker holds the
 * PUBACK on that promise, so an acknowledged reading is never only in memory.
 */
export function createRecorder(options: RecorderOptions): Recorder {
  const { store, metrics } = options;
  const log = childLogger(options.logger, { component: 'recorder' });
  const maxDelayMs = options.maxDelayMs ?? 2;
  const maxBatch = options.maxBatch ?? 5000;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const retryMinMs = options.retryMinMs ?? 100;
  const retryMaxMs = options.retryMaxMs ?? 5000;
  const maxBuffered = options.maxBuffered ?? 200_000;
  const spillAfterMs = options.spillAfterMs ?? 2000;
  const spill: SpillFile | undefined = options.spillPath ? openSpillFile(options.spillPath, log) : undefined;
  const deadLetterPath = options.spillPath ? `${options.spillPath}.rejected` : undefined;
  const reportRejected = createBurstLog(log);

  let queue: Entry[] = [];
  let queuedReadings = 0;
  let inFlight = 0;
  let pendingReadings = 0;
  let timer: NodeJS.Timeout | undefined;
  let closing = false;
  /** Set when close() gave up waiting: retry loops stop without acknowledging anything. */
  let abandoned = false;
  let storeFailing = false;
  let draining: Promise<void> | undefined;
  let watchdog: NodeJS.Timeout | undefined;

  function updateGauges(): void {
    metrics.recorderBuffered.set(pendingReadings);
    metrics.spilledReadings.set(spill?.count ?? 0);
  }

  function settle(entries: readonly Entry[], readings: number, stored = true): void {
    const now = performance.now();
    pendingReadings -= readings;
    if (stored) metrics.readingsStored.inc(readings);
    for (const e of entries) {
      metrics.publishToDurableSeconds.observe((now - e.receivedAt) / 1000);
      e.resolve();
    }
    updateGauges();
  }

  /** Appends to the spill file; false if there is none or the disk refused. */
  function trySpill(entries: readonly Entry[]): boolean {
    if (!spill || entries.length === 0) return false;
    const readings = entries.flatMap((e) => e.readings);
    try {
      spill.append(readings);
    } catch (err) {
      log.error({ err }, 'spill file write failed; keeping readings in memory');
      return false;
    }
    log.warn(
      { readings: readings.length, spilled: spill.count },
      'store unavailable: readings spilled to disk',
    );
    settle(entries, readings.length);
    return true;
  }

  /** While the store fails, moves readings that waited too long (or overflow) to the spill file. */
  function spillQueue(force: boolean): void {
    if (!spill || queue.length === 0) return;
    const oldest = queue[0]?.receivedAt ?? performance.now();
    if (!force && pendingReadings <= maxBuffered && performance.now() - oldest < spillAfterMs) return;
    const entries = queue;
    if (trySpill(entries)) {
      queue = [];
      queuedReadings = 0;
    }
  }

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

  async function timedWrite(readings: StoredReading[]): Promise<void> {
    const t0 = performance.now();
    await store.write(readings);
    metrics.storeWriteSeconds.observe((performance.now() - t0) / 1000);
  }

  function noteFailure(err: unknown, failures: number, retryInMs: number): void {
    metrics.storeErrors.inc();
    updateGauges(); // during an outage, at every retry: the readings piling up are what to watch
    if (!storeFailing) {
      storeFailing = true;
      // While failing, look every 250 ms for readings that waited long enough to be spilled.
      watchdog = setInterval(() => spillQueue(closing), 250);
      watchdog.unref();
    }
    // The first failure of a run is logged, then every 10th: one line per burst, not per retry.
    if (failures % 10 === 1) log.warn({ err, failures, retryInMs }, 'store write failed; retrying');
  }

  function noteSuccess(failures: number): void {
    if (failures > 0) log.info({ failures }, 'store write succeeded after retries');
    if (storeFailing) {
      storeFailing = false;
      if (watchdog) clearInterval(watchdog);
      watchdog = undefined;
    }
    if (spill && spill.count > 0 && !closing) void drain();
  }

  /**
   * A batch write failed. Either the store is down (retry the whole batch later) or a message in
   * it is one the store cannot take (InfluxDB's 400 for a timestamp after 2262, a value its
   * serialiser throws on): retrying that batch would block every message behind it forever, and
   * its publisher would resend it after every reconnect. So the messages are written one by one:
   * - a message the store refuses as invalid (SG_ERR_STORE_REJECTED) is set aside at once;
   * - after ISOLATION_MAX_CONSECUTIVE_FAILURES failures in a row the round stops: an outage;
   * - if nothing was stored, it is an outage: everything is retried later;
   * - otherwise each message that failed is tried again between two writes the store is known to
   *   take (a rewrite of a message just stored; writes are idempotent). Failing between two
   *   successes with an error other than the store's own write error (isStoreTrouble), it failed
   *   for its content, not because the store is down (an outage that begins or ends during the
   *   round cannot look like that): set aside. Otherwise the rest is retried later.
   * Set aside = counted, written to the dead-letter file (or the log) and acknowledged, because
   * resending cannot help. Returns the entries still to retry, oldest first.
   */
  async function isolate(entries: Entry[]): Promise<Entry[]> {
    const rest = await isolateRound(entries, {
      write: (e) => timedWrite([...e.readings]),
      stored: (e) => settle([e], e.readings.length, true),
      poison: (e, err) => deadLetter(e, err),
    });
    return rest.sort((x, y) => x.receivedAt - y.receivedAt);
  }

  /** The same isolation for a slice of the spill file, reading by reading. */
  function isolateSpilled(readings: StoredReading[]): Promise<StoredReading[]> {
    return isolateRound(readings, {
      write: (r) => timedWrite([r]),
      // Spilled readings were counted as stored when they were spilled.
      stored: () => {},
      poison: (r, err) => setAside([r], err),
    });
  }

  async function isolateRound<T>(
    items: readonly T[],
    how: { write(item: T): Promise<void>; stored(item: T): void; poison(item: T, err: unknown): void },
  ): Promise<T[]> {
    const failed: { item: T; err: unknown }[] = [];
    let good: T | undefined;
    let consecutive = 0;
    let i = 0;
    for (; i < items.length && consecutive < ISOLATION_MAX_CONSECUTIVE_FAILURES; i++) {
      const item = items[i] as T;
      try {
        await how.write(item);
        how.stored(item);
        good = item;
        consecutive = 0;
      } catch (err) {
        if (isRejectedError(err)) {
          how.poison(item, err);
          continue;
        }
        consecutive++;
        failed.push({ item, err });
      }
    }
    const untried = items.slice(i);
    if (good === undefined) return [...failed.map((f) => f.item), ...untried];
    noteSuccess(0);
    const probe = good;
    const upAgain = async () => {
      try {
        await how.write(probe);
        return true;
      } catch {
        return false;
      }
    };
    for (let k = 0; k < failed.length; k++) {
      const f = failed[k] as { item: T; err: unknown };
      if (!(await upAgain())) return [...failed.slice(k).map((x) => x.item), ...untried];
      try {
        await how.write(f.item);
        how.stored(f.item);
      } catch (err) {
        if (isRejectedError(err) || (!isStoreTrouble(err) && (await upAgain()))) {
          how.poison(f.item, err);
          continue;
        }
        return [...failed.slice(k).map((x) => x.item), ...untried];
      }
    }
    return untried;
  }

  /** Counts, logs (once per burst) and writes to the dead-letter file readings the store cannot take. */
  function setAside(readings: readonly StoredReading[], err: unknown): void {
    metrics.rejected.inc({ reason: 'store_rejected' });
    const first = readings[0];
    if (first) {
      metrics.rejectedByGateway.inc({ site: first.site, gateway: first.gateway, reason: 'store_rejected' });
    }
    reportRejected(
      `${first?.site}/${first?.gateway}`,
      { err, site: first?.site, gateway: first?.gateway, readings: readings.length },
      'store cannot take this message; acknowledged and set aside (dead-letter)',
    );
    if (deadLetterPath) {
      try {
        appendFileSync(deadLetterPath, `${JSON.stringify({ error: (err as Error).message, readings })}\n`, {
          mode: 0o600,
        });
      } catch (appendErr) {
        // The readings themselves may be what cannot be serialised: keep at least where they came from.
        log.error(
          { err: appendErr, site: first?.site, gateway: first?.gateway },
          'dead-letter file write failed',
        );
      }
    }
  }

  function deadLetter(e: Entry, err: unknown): void {
    setAside(e.readings, err);
    settle([e], e.readings.length, false);
  }

  async function flushOne(): Promise<void> {
    if (queue.length === 0 || inFlight >= concurrency) return;
    let batch = takeBatch();
    inFlight++;
    updateGauges();
    let delay = retryMinMs;
    let failures = 0;
    while (batch.length > 0) {
      const readings = batch.flatMap((e) => e.readings);
      try {
        await timedWrite(readings);
        noteSuccess(failures);
        settle(batch, readings.length, true);
        break;
      } catch (err) {
        if (batch.length > 1 || isRejectedError(err)) {
          batch = await isolate(batch);
          if (batch.length === 0) break;
        }
        failures++;
        noteFailure(err, failures, delay);
        if (abandoned) break;
        const waited = performance.now() - (batch[0]?.receivedAt ?? 0);
        if ((closing || waited >= spillAfterMs || pendingReadings > maxBuffered) && trySpill(batch)) break;
        await sleep(delay);
        delay = Math.min(retryMaxMs, delay * 2);
        // Messages that arrived meanwhile join the retry: if they are stored while an older one
        // still fails, that one is refused for its content (isolate), and they are not held behind it.
        if (queue.length > 0) batch = [...batch, ...takeBatch()];
      }
    }
    inFlight--;
    // Messages that arrived during the write have waited long enough: write them at once.
    if (queue.length > 0) void flushOne();
    notifyIdle();
  }

  /** Replays the spill file into the store, with the same back-off, until it is empty. */
  function drain(): Promise<void> {
    draining ??= (async () => {
      if (!spill) return;
      let delay = retryMinMs;
      while (!closing) {
        const taken = spill.take();
        if (!taken) break;
        const all = taken.batches.flat();
        log.info({ readings: all.length }, 'draining spill file into the store');
        let ok = true;
        for (let i = 0; i < all.length && !closing; i += maxBatch) {
          let slice = all.slice(i, i + maxBatch);
          while (slice.length > 0 && !closing) {
            try {
              await timedWrite(slice);
              delay = retryMinMs;
              slice = [];
            } catch (err) {
              metrics.storeErrors.inc();
              // As for live batches: a reading the store cannot take must not block the drain.
              if (slice.length > 1 || isRejectedError(err)) slice = await isolateSpilled(slice);
              if (slice.length === 0) break;
              log.warn({ err, retryInMs: delay }, 'spill drain: store write failed; retrying');
              await sleep(delay);
              delay = Math.min(retryMaxMs, delay * 2);
            }
          }
          if (closing) ok = false;
        }
        if (!ok) break; // the file stays; the next start replays it (writes are idempotent)
        taken.done();
        updateGauges();
        log.info({ readings: all.length }, 'spill file drained');
      }
    })().finally(() => {
      draining = undefined;
      notifyIdle();
    });
    return draining;
  }

  const idleWaiters: (() => void)[] = [];
  function notifyIdle(): void {
    if (pendingReadings === 0 && inFlight === 0 && !draining && (closing || (spill?.count ?? 0) === 0)) {
      for (const w of idleWaiters.splice(0)) w();
    }
  }

  return {
    async start() {
      if (spill && spill.count > 0) {
        log.info({ readings: spill.count }, 'spill file from a previous run found; replaying');
        updateGauges();
        void drain();
      }
    },
    submit(readings, receivedAt = performance.now()) {
      if (readings.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        queue.push({ readings, receivedAt, resolve });
        queuedReadings += readings.length;
        pendingReadings += readings.length;
        // The gauges are set per batch (flushOne, settle), not per message: see noteTelemetry in hooks.ts.
        if (storeFailing && pendingReadings > maxBuffered) spillQueue(true);
        schedule();
      });
    },
    get pending() {
      return pendingReadings;
    },
    get spilled() {
      return spill?.count ?? 0;
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        notifyIdle();
      });
    },
    async close() {
      closing = true;
      if (storeFailing) spillQueue(true);
      schedule();
      const idle = new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        notifyIdle();
      });
      const timeoutMs = options.closeTimeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([
        idle.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (gaveUp) {
        abandoned = true;
        log.warn(
          { pending: pendingReadings, timeoutMs },
          'closing with readings not yet durable; they were never acknowledged and their publishers will resend them',
        );
      }
      if (draining) await draining;
      if (watchdog) clearInterval(watchdog);
    },
  };
}
