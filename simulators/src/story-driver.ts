import type { Reading } from '@slopeguard/core';
import type { Driver, DriverHealth, ReadingSink } from '@slopeguard/firmware-bridge/driver.ts';
import type { ReadingSource } from './sources.ts';

/**
 * Simulated sensors as a gateway driver: the demo's sites plug this in where a serial or MQTT driver
 * would be, so their readings go through the gateway's own checks, durable queue, local rules and
 * uplink. It first hands over its history (the demo's 24 h backfill) as fast as the gateway takes it,
 * then samples `source` on its cadence, catching up on the instants that passed meanwhile.
 *
 * The cadence is fixed: a story is replayed on the grid it was written for (the rate rules estimate
 * each sensor's interval, so a change of cadence would move the story's threshold crossings), and
 * `setIntervalMs` (the gateway's fast sampling) is accepted and ignored.
 */
export interface StoryDriverOptions {
  id: string;
  source: ReadingSource;
  /** Live sampling interval, ms; 0 = only when `sampleNow` is called (tests, benchmarks). */
  cadenceMs: number;
  /** Instants of history in time order, handed over before the live readings. */
  history?: Iterable<Reading[]>;
  /**
   * The history waits for this (the demo: the gateway's uplink is up). A gateway sends what it
   * queued while offline behind its live readings, and the rules downstream drop readings older than
   * the last they saw: history queued before the link came up would reach them after newer readings.
   */
  startAfter?: Promise<void>;
  now: () => number;
}

export interface StoryDriver extends Driver {
  /** Resolves once the whole history has been handed to the gateway. */
  readonly historyDone: Promise<void>;
  /** The newest timestamp handed over so far (-Infinity before the first reading). */
  readonly lastTs: number;
  /** Takes one sample now, after the last one; returns what it handed over. */
  sampleNow(): Reading[];
}

/** Readings handed over between two yields to the event loop during the history. */
const HISTORY_SLICE = 2000;

export function createStoryDriver(o: StoryDriverOptions): StoryDriver {
  let sink: ReadingSink = () => {};
  let lastTs = Number.NEGATIVE_INFINITY;
  let readings = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let doneHistory: () => void = () => {};
  const historyDone = new Promise<void>((resolve) => {
    doneHistory = resolve;
  });

  const emit = (instant: Reading[]) => {
    for (const r of instant) {
      if (r.ts > lastTs) lastTs = r.ts;
      readings++;
      sink(r);
    }
  };
  const replayHistory = async () => {
    await o.startAfter;
    let slice = 0;
    for (const instant of o.history ?? []) {
      if (stopped) return;
      emit(instant);
      slice += instant.length;
      if (slice >= HISTORY_SLICE) {
        slice = 0;
        // Let the gateway commit and forward, and the rest of the process breathe.
        await new Promise((r) => setImmediate(r));
      }
    }
  };
  let next = 0;
  const wake = () => {
    const now = o.now();
    while (next <= now && !stopped) {
      emit(o.source(next));
      next += o.cadenceMs;
    }
  };
  const goLive = () => {
    doneHistory();
    if (stopped || o.cadenceMs <= 0) return;
    // On the grid, right after the history: the instants that passed while it was handed over come
    // first, so the live readings carry on without a gap.
    next =
      lastTs === Number.NEGATIVE_INFINITY
        ? Math.ceil(o.now() / o.cadenceMs) * o.cadenceMs
        : lastTs + o.cadenceMs;
    wake();
    timer = setInterval(wake, Math.min(o.cadenceMs, 1000));
  };

  return {
    id: o.id,
    historyDone,
    get lastTs() {
      return lastTs;
    },
    async start(s) {
      sink = s;
      // In the background: the gateway runs (and forwards) while its history is replayed.
      replayHistory().then(goLive, goLive);
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    setIntervalMs() {},
    sampleNow() {
      // A sensor's readings go forward: never two samples on one millisecond.
      const ts = Math.max(o.now(), lastTs + 1);
      const instant = o.source(ts);
      emit(instant);
      return instant;
    },
    health(): DriverHealth {
      return { state: 'ok', errors: {}, readings };
    },
  };
}
