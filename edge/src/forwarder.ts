import type { Topic } from '@slopeguard/core';
import type { Logger } from 'pino';
import type { Batch, ReadingQueue } from './queue/queue.ts';

/** What the forwarder needs of the uplink (the MQTT client in production, a fake never). */
export interface Publisher {
  readonly connected: boolean;
  /** Payloads the queue encoded with core's encodePayload; QoS and retain come from the topic. */
  publishEncoded(topic: Topic<'telemetry' | 'event'>, payload: string): Promise<void>;
}

export interface ForwarderOptions {
  telemetryTopic: Topic<'telemetry'>;
  eventTopic: Topic<'event'>;
  commitIntervalMs: number;
  batchMaxReadings: number;
  batchIntervalMs: number;
  backlogRatePerS: number;
  maxInflight: number;
  /** Quota policy, named in the drop event. */
  policy: 'drop-oldest' | 'refuse-new';
  /** Gateway clock, for event timestamps. */
  now: () => number;
}

/** Live batches in flight at once; beyond it live rows wait in the queue (durably) for acks. */
const MAX_LIVE_INFLIGHT = 32;
const MAX_EVENTS_INFLIGHT = 16;

/**
 * Moves committed readings from the queue to the broker.
 *
 * Every `commitIntervalMs` (and as soon as a PUBACK frees room) one queue transaction commits the
 * readings gathered since the last one and cuts the batches to send now. At each (re)connect the
 * queue's last id splits the rows: those above it are live and go out first, every batchIntervalMs;
 * those at or below it are backlog and drain behind, oldest first (so in order per sensor), through
 * a token bucket of backlogRatePerS readings per second and at most maxInflight batches in flight.
 * A batch's rows are deleted only in a commit after its PUBACK; a crash before that resends it with
 * the same seq (the store is idempotent on (sensor, ts)).
 */
export class Forwarder {
  readonly #queue: ReadingQueue;
  readonly #pub: Publisher;
  readonly #opts: ForwarderOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #soon = false;
  #liveFrom = 0;
  /**
   * Last live row cut: live rows are cut in id order, so everything between liveFrom and here is in
   * a batch already, and the next cut starts here instead of skipping over rows still in flight.
   */
  #liveCursor = 0;
  #backlogCursor = 0;
  #eventCursor = 0;
  #resend: Batch[];
  #liveInflight = 0;
  #backlogInflight = 0;
  #eventsInflight = 0;
  #tokens = 0;
  #lastRefill = performance.now();
  #lastLiveCut = 0;
  #commitFailures = 0;
  #lastPump = performance.now();
  #stopped = false;
  #droppedSinceReport = 0;
  #lastDropReport = 0;
  readonly #ackListeners = new Set<(b: Batch) => void>();
  readonly #commitListeners = new Set<() => void>();
  /** Readings acknowledged by the broker since start (for the benchmark and status). */
  sent = 0;
  published = 0;

  constructor(queue: ReadingQueue, pub: Publisher, opts: ForwarderOptions, log: Logger) {
    this.#queue = queue;
    this.#pub = pub;
    this.#opts = opts;
    this.#log = log;
    // Batches cut before a restart and never acknowledged go first, with their original seq.
    this.#resend = queue.unacknowledged();
    if (this.#resend.length > 0)
      log.info({ batches: this.#resend.length }, 'resending unacknowledged batches');
    this.#liveFrom = queue.lastId;
    this.#liveCursor = this.#liveFrom;
  }

  start(): void {
    this.#timer = setInterval(() => this.pump(), this.#opts.commitIntervalMs);
  }

  /**
   * Called with every batch the broker acknowledged (after its PUBACK: the central store has it).
   * For the demo and tests that wait for delivery; returns the function that removes the listener.
   */
  onAcked(listener: (b: Batch) => void): () => void {
    this.#ackListeners.add(listener);
    return () => this.#ackListeners.delete(listener);
  }

  /** Called after every successful queue commit (acknowledged rows are gone from the queue then). */
  onCommitted(listener: () => void): () => void {
    this.#commitListeners.add(listener);
    return () => this.#commitListeners.delete(listener);
  }

  #notify<T>(listeners: Set<(v: T) => void>, value: T): void {
    for (const l of listeners) {
      try {
        l(value);
      } catch (err) {
        // A watcher's bug must not stop forwarding.
        this.#log.error({ err: (err as Error).message }, 'forwarder listener failed');
      }
    }
  }

  /** Real ms since the pump last ran to completion (the systemd watchdog checks it). */
  get sinceLastPumpMs(): number {
    return performance.now() - this.#lastPump;
  }

  /** The uplink came up: everything committed so far is backlog, everything after is live. */
  onConnect(): void {
    this.#liveFrom = this.#queue.lastId;
    this.#liveCursor = this.#liveFrom;
    // The cut, as a queue row id: what an outage left behind drains as backlog, the rest is live.
    // Tests read it to tell the lanes apart exactly, whatever the timing.
    this.#log.info({ backlogThroughId: this.#liveFrom }, 'uplink up: backlog cut');
    this.#backlogCursor = 0;
    this.#tokens = 0;
    this.#lastRefill = performance.now();
    this.pumpSoon();
  }

  pumpSoon(): void {
    if (this.#soon || this.#stopped) return;
    this.#soon = true;
    setImmediate(() => {
      this.#soon = false;
      this.pump();
    });
  }

  pump(): void {
    if (this.#stopped) return;
    const connected = this.#pub.connected;
    const now = performance.now();
    // The watchdog asks whether this loop runs, not whether the disk works: a failing card must not
    // get the process restarted over and over (the siren needs it running).
    this.#lastPump = now;
    this.#refill(now);
    let cut: Batch[] = [];
    const cursors = { live: this.#liveCursor, backlog: this.#backlogCursor };
    try {
      const r = this.#queue.commit((cutter) => {
        const out: Batch[] = [];
        if (!connected) return out;
        const max = this.#opts.batchMaxReadings;
        if (now - this.#lastLiveCut >= this.#opts.batchIntervalMs) {
          this.#lastLiveCut = now;
          while (this.#liveInflight + out.length < MAX_LIVE_INFLIGHT) {
            const b = cutter.live(this.#liveCursor, max);
            if (!b) break;
            this.#liveCursor = b.lastId;
            out.push(b);
            if (b.count < max) break;
          }
        }
        const live = out.length;
        while (this.#backlogInflight + out.length - live < this.#opts.maxInflight && this.#tokens >= 1) {
          const b = cutter.backlog(
            this.#backlogCursor,
            this.#liveFrom,
            Math.min(max, Math.floor(this.#tokens)),
          );
          if (!b) break;
          this.#backlogCursor = b.lastId;
          this.#tokens -= b.count;
          out.push(b);
        }
        return out;
      });
      if (r.dropped > 0) this.#reportDrop(r.dropped);
      cut = r.assigned ?? [];
      this.#commitFailures = 0;
      this.#notify(this.#commitListeners, undefined);
    } catch (err) {
      // The commit rolled back, and the batches cut in it with it: cut them again next time.
      this.#liveCursor = cursors.live;
      this.#backlogCursor = cursors.backlog;
      // Disk full, SD card error: the buffers stay in memory and the next pump retries.
      if (this.#commitFailures++ === 0)
        this.#log.error({ err: (err as Error).message }, 'queue commit failed');
      return;
    }
    if (!connected) return;
    const resend = this.#resend.splice(0, this.#resend.length);
    for (const b of resend) this.#send(b, 'backlog');
    for (const b of cut) this.#send(b, b.firstId > this.#liveFrom ? 'live' : 'backlog');
    this.#sendEvents();
  }

  /**
   * Loss is never silent: a warning and a `queue_dropped` event (through the queue, so it reaches the
   * control center) for the first drop, then at most one of each per minute with the count since.
   */
  #reportDrop(n: number): void {
    this.#droppedSinceReport += n;
    const now = performance.now();
    if (now - this.#lastDropReport < 60_000 && this.#lastDropReport !== 0) return;
    const stats = this.#queue.stats();
    this.#log.warn(
      { dropped: this.#droppedSinceReport, total: stats.dropped, policy: this.#opts.policy },
      'queue full: readings dropped',
    );
    this.#queue.appendEvent({
      type: 'queue_dropped',
      ts: this.#opts.now(),
      dropped: this.#droppedSinceReport,
      total: stats.dropped,
      policy: this.#opts.policy,
      depth: stats.depth,
    });
    this.#droppedSinceReport = 0;
    this.#lastDropReport = now;
  }

  #refill(now: number): void {
    const rate = this.#opts.backlogRatePerS;
    const cap = Math.max(this.#opts.batchMaxReadings, rate);
    this.#tokens = Math.min(cap, this.#tokens + ((now - this.#lastRefill) / 1000) * rate);
    this.#lastRefill = now;
  }

  #send(b: Batch, lane: 'live' | 'backlog'): void {
    if (lane === 'live') this.#liveInflight++;
    else this.#backlogInflight++;
    this.published += b.count;
    this.#pub.publishEncoded(this.#opts.telemetryTopic, b.payload).then(
      () => {
        this.#done(lane);
        this.sent += b.count;
        this.#queue.ack(b);
        this.#notify(this.#ackListeners, b);
        this.pumpSoon();
      },
      (err: Error) => {
        this.#done(lane);
        // mqtt.js gave the message up (client ending): keep it for the next connection.
        this.#resend.push(b);
        this.#log.warn({ seq: b.seq, err: err.message }, 'batch not acknowledged; will resend');
      },
    );
  }

  #done(lane: 'live' | 'backlog'): void {
    if (lane === 'live') this.#liveInflight--;
    else this.#backlogInflight--;
  }

  #sendEvents(): void {
    if (this.#eventsInflight >= MAX_EVENTS_INFLIGHT) return;
    const events = this.#queue.events(this.#eventCursor, MAX_EVENTS_INFLIGHT - this.#eventsInflight);
    for (const e of events) {
      this.#eventCursor = e.id;
      this.#eventsInflight++;
      this.#pub.publishEncoded(this.#opts.eventTopic, e.payload).then(
        () => {
          this.#eventsInflight--;
          this.#queue.ackEvent(e.id);
        },
        () => {
          this.#eventsInflight--;
          this.#eventCursor = Math.min(this.#eventCursor, e.id - 1);
        },
      );
    }
  }

  /** Stops the timer and commits what is buffered (acks included). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    try {
      this.#queue.commit();
    } catch (err) {
      this.#log.error({ err: (err as Error).message }, 'final queue commit failed');
    }
  }
}
