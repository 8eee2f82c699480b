import { createHash, randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { isLevel, type Level } from '@slopeguard/core';
import { childLogger } from '@slopeguard/core/log.ts';
import pino, { type Logger } from 'pino';
import { backoffMs, DEFAULT_RETRY, type RetryPolicy } from './backoff.ts';
import type { Clock, ClockTimer } from './clock.ts';
import { NotifyError } from './errors.ts';
import { redact } from './redact.ts';
import type { AuditSink, Channel, ChannelMessage, NotifyMessage, Recipient, SendResult } from './types.ts';

/**
 * The durable outbox. Every notification is a row in the operational database before anything may
 * send it; one owner process delivers the due rows, a few at a time, and records each outcome.
 *
 * Crash safety (kill -9 included):
 * - A row is `queued` until a channel has reported success, then `sent` (with its audit record) in
 *   one transaction with the other outcomes of that moment (group commit: one disk sync for many
 *   deliveries, which a fan-out to thousands of residents needs). A restart
 *   resumes every `queued` row, so nothing queued is lost, and never touches a `sent` one, so nothing
 *   recorded as sent goes out again.
 * - The attempt counter is committed before the send, so a message that crashes the process is not
 *   retried forever.
 * - The one window left is between "the receiver has it" and "recorded sent" (a few milliseconds
 *   longer with the group commit): a kill there resends the
 *   row after the restart. Every attempt carries the same delivery id (webhook header
 *   X-Slopeguard-Delivery, e-mail Message-ID), and receivers de-duplicate on it: exactly-once holds
 *   end to end, through that key, not in the outbox alone (docs/notifications.md).
 *
 * One owner per database: two processes delivering from the same file would both send a due row.
 */
export interface OutboxOptions {
  db: DatabaseSync;
  channels: Iterable<Channel>;
  clock: Clock;
  audit: AuditSink;
  log?: Logger;
  retry?: Partial<RetryPolicy>;
  /** Deliveries in flight at once (all channels together). */
  concurrency?: number;
  /** An attempt that has not answered by then counts as a transient failure. */
  sendTimeoutMs?: number;
  /** For the jitter of the backoff; tests pass a constant. */
  random?: () => number;
}

export interface EnqueueInput {
  alertId: string;
  level: Level;
  channel: string;
  recipient: Recipient;
  /** Which notice of the alert ("g1.r0", "clear"): part of the de-duplication key. */
  round?: string;
  message: NotifyMessage;
}

export type DeliveryState = 'queued' | 'sent' | 'failed';

/** The delivery record. */
export interface Delivery {
  deliveryId: string;
  alertId: string;
  level: Level;
  channel: string;
  recipientId: string;
  round: string;
  state: DeliveryState;
  attempts: number;
  lastError: string | null;
  info: string | null;
  createdAt: number;
  updatedAt: number;
  nextAttemptAt: number;
  lastAttemptAt: number | null;
  sentAt: number | null;
}

export interface OutboxStats {
  queued: number;
  sent: number;
  failed: number;
  inflight: number;
}

/** Bounds of a message and a recipient, so that one bad caller cannot fill the database. */
const MAX_SUBJECT = 200;
const MAX_TEXT = 8_000;
const MAX_DATA = 16_000;
const MAX_ADDRESS = 500;
const MAX_ID = 200;
const STORAGE_PAUSE_MS = 1_000;

interface Row {
  seq: number;
  delivery_id: string;
  alert_id: string;
  level: number;
  channel: string;
  recipient_id: string;
  recipient_address: string;
  round: string;
  message: string;
  state: string;
  attempts: number;
  last_error: string | null;
  info: string | null;
  created_at: number;
  updated_at: number;
  next_attempt_at: number;
  last_attempt_at: number | null;
  sent_at: number | null;
}

export class Outbox {
  readonly #db: DatabaseSync;
  readonly #channels = new Map<string, Channel>();
  readonly #clock: Clock;
  readonly #audit: AuditSink;
  readonly #log: Logger;
  readonly #retry: RetryPolicy;
  readonly #concurrency: number;
  readonly #sendTimeoutMs: number;
  readonly #random: () => number;
  readonly #st: ReturnType<typeof prepare>;
  readonly #inflight = new Map<string, Promise<void>>();
  /** The same attempts by row number: the due scan reads row numbers only (see #pump). */
  readonly #inflightSeq = new Set<number>();
  /** Outcomes of finished attempts waiting for their group commit (see #record). */
  #outcomes: { write: () => void; resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** Failures logged per channel: the first of a run is logged, the rest counted (a gateway down). */
  readonly #failing = new Map<string, { error: string; suppressed: number }>();
  #running = false;
  #kickScheduled = false;
  #timer: ClockTimer | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #idleWaiters: (() => void)[] = [];
  #pausedUntil = 0;
  #storageErrors = 0;

  constructor(opts: OutboxOptions) {
    this.#db = opts.db;
    for (const c of opts.channels) {
      if (this.#channels.has(c.id)) throw new NotifyError('SG_ERR_NOTIFY_CHANNEL', `channel ${c.id} twice`);
      this.#channels.set(c.id, c);
    }
    this.#clock = opts.clock;
    this.#audit = opts.audit;
    this.#log = childLogger(opts.log ?? pino({ level: 'silent' }), { component: 'notify-outbox' });
    this.#retry = { ...DEFAULT_RETRY, ...opts.retry };
    this.#concurrency = Math.max(1, opts.concurrency ?? 8);
    this.#sendTimeoutMs = opts.sendTimeoutMs ?? 30_000;
    this.#random = opts.random ?? Math.random;
    this.#st = prepare(this.#db);
  }

  /**
   * Queues a notice, or returns the delivery already queued for the same (alert, level, channel,
   * recipient, round): `created` says which. One statement, so a caller may wrap it in its own
   * transaction with the change that caused it. Throws only on a caller's error (unknown channel,
   * message out of bounds).
   */
  enqueue(input: EnqueueInput): { deliveryId: string; created: boolean } {
    if (!this.#channels.has(input.channel)) {
      throw new NotifyError('SG_ERR_NOTIFY_CHANNEL', `no channel named ${JSON.stringify(input.channel)}`);
    }
    checkInput(input);
    const round = input.round ?? 'r0';
    const key = dedupKey(input.alertId, input.level, input.channel, input.recipient.address, round);
    const now = this.#clock.now();
    const deliveryId = randomUUID();
    const inserted = this.#st.insert.run({
      delivery_id: deliveryId,
      dedup_key: key,
      alert_id: input.alertId,
      level: input.level,
      channel: input.channel,
      recipient_id: input.recipient.id,
      recipient_address: input.recipient.address,
      round,
      message: JSON.stringify(input.message),
      now,
    });
    if (Number(inserted.changes) === 0) {
      const existing = this.#st.byDedup.get({ dedup_key: key }) as { delivery_id: string };
      return { deliveryId: existing.delivery_id, created: false };
    }
    this.#kick();
    return { deliveryId, created: true };
  }

  /** Starts delivering: resumes every row left queued by an earlier run. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#kick();
  }

  /** Stops taking rows and waits for the attempts in flight; queued rows stay for the next start. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    await Promise.all(this.#inflight.values());
  }

  /** Resolves once no attempt is in flight and none is due now (tests and shutdown). */
  whenIdle(): Promise<void> {
    let idle = false;
    try {
      idle = this.#isIdle();
    } catch {
      // The database is failing; delivery resumes (and this settles) once it works again.
    }
    if (idle) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  get(deliveryId: string): Delivery | undefined {
    const row = this.#st.byId.get({ delivery_id: deliveryId }) as Row | undefined;
    return row ? toDelivery(row) : undefined;
  }

  /** Delivery records of an alert, oldest first. */
  forAlert(alertId: string): Delivery[] {
    return (this.#st.byAlert.all({ alert_id: alertId }) as unknown as Row[]).map(toDelivery);
  }

  /**
   * Deletes sent and failed deliveries last updated before `before` (epoch ms); returns how many.
   * Their de-duplication keys go with them, so keep well beyond any alert's life (30 days or more):
   * the audit keeps the history. Queued deliveries are never pruned.
   */
  prune(before: number): number {
    return Number(this.#st.prune.run({ before }).changes);
  }

  stats(): OutboxStats {
    const out: OutboxStats = { queued: 0, sent: 0, failed: 0, inflight: this.#inflight.size };
    for (const r of this.#st.counts.all() as unknown as { state: DeliveryState; n: number }[])
      out[r.state] = r.n;
    return out;
  }

  #isIdle(): boolean {
    if (this.#inflight.size > 0) return false;
    if (!this.#running) return true;
    const due = this.#st.due.get({ now: this.#clock.now(), limit: 1 }) as { seq: number } | undefined;
    return due === undefined;
  }

  #kick(): void {
    if (this.#kickScheduled || !this.#running) return;
    this.#kickScheduled = true;
    // Not synchronously: an enqueue inside the caller's transaction must not send before it commits.
    setImmediate(() => {
      this.#kickScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    if (!this.#running) return;
    const now = this.#clock.now();
    if (now < this.#pausedUntil) {
      this.#armAt(this.#pausedUntil, now);
      return;
    }
    try {
      const free = this.#concurrency - this.#inflight.size;
      if (free > 0) {
        // Row numbers only (the due index covers them): this runs after every finished attempt, and
        // reading whole rows (message included) for the ones already in flight made a large fan-out
        // quadratic in the concurrency.
        const due = this.#st.due.all({ now, limit: free + this.#inflight.size }) as unknown as {
          seq: number;
        }[];
        const rows: Row[] = [];
        for (const { seq } of due) {
          if (this.#inflight.size + rows.length >= this.#concurrency) break;
          if (this.#inflightSeq.has(seq)) continue;
          const row = this.#st.bySeq.get({ seq }) as Row | undefined;
          if (row?.state === 'queued') rows.push(row);
        }
        // Committed before the sends, all in one transaction (one disk sync for the batch): a
        // message that kills the process still uses up its attempt.
        if (rows.length > 0)
          this.#inTransaction(() => {
            for (const row of rows) this.#st.beginAttempt.run({ delivery_id: row.delivery_id, now });
          });
        // A write went through: the database works (reads alone do not prove it).
        if (rows.length > 0) this.#storageOk();
        for (const row of rows) {
          const seq = row.seq;
          const p = this.#attempt(row)
            .catch((err: unknown) => this.#storageTrouble(err))
            .finally(() => {
              this.#inflight.delete(row.delivery_id);
              this.#inflightSeq.delete(seq);
              this.#kick();
              this.#settleIdle();
            });
          this.#inflight.set(row.delivery_id, p);
          this.#inflightSeq.add(seq);
        }
      }
      this.#armTimer(now);
    } catch (err) {
      this.#storageTrouble(err);
    }
    this.#settleIdle();
  }

  /**
   * The database refused a read or a write (disk full, I/O error): nothing is lost (a row not marked
   * sent stays queued), but delivering pauses for a second so a failing disk is not hammered in a
   * tight loop, and the problem is logged once per run.
   */
  #storageTrouble(err: unknown): void {
    const now = this.#clock.now();
    this.#pausedUntil = now + STORAGE_PAUSE_MS;
    if (this.#storageErrors++ === 0) {
      this.#log.error({ err: (err as Error)?.message }, 'outbox database error; delivery paused, will retry');
    }
    this.#armAt(this.#pausedUntil, now);
  }

  #storageOk(): void {
    if (this.#storageErrors === 0) return;
    this.#log.info({ errorsNotLogged: this.#storageErrors - 1 }, 'outbox database works again');
    this.#storageErrors = 0;
  }

  /** One timer, at the earliest retry not yet due. */
  #armTimer(now: number): void {
    const next = this.#st.nextDue.get({ now }) as { at: number | null } | undefined;
    this.#armAt(next?.at ?? Number.POSITIVE_INFINITY, now);
  }

  #armAt(at: number, now: number): void {
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (Number.isFinite(at)) {
      this.#timer = this.#clock.setTimeout(() => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#pump();
      }, at - now);
    }
  }

  #settleIdle(): void {
    if (this.#idleWaiters.length === 0) return;
    try {
      if (!this.#isIdle()) return;
    } catch {
      return; // the database is failing: #storageTrouble has paused delivery and will pump again
    }
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Runs `fn` in one transaction (a savepoint, so it also nests in a caller's). Each commit costs a
   * disk sync (5 ms on this project's test machine): batching the writes of many deliveries is what
   * lets a fan-out to thousands of residents go at the speed of the network, not of the disk.
   */
  #inTransaction(fn: () => void): void {
    this.#db.exec('SAVEPOINT notify_outbox_batch');
    try {
      fn();
      this.#db.exec('RELEASE notify_outbox_batch');
    } catch (err) {
      this.#db.exec('ROLLBACK TO notify_outbox_batch');
      this.#db.exec('RELEASE notify_outbox_batch');
      throw err;
    }
  }

  /**
   * Queues an attempt's outcome to be written with the others that finish in the same turn of the
   * event loop (group commit); resolves once it is committed. While one batch's sync blocks, the
   * answers of the next arrive, so batches grow with the load by themselves.
   */
  #record(write: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#outcomes.push({ write, resolve, reject });
      if (this.#outcomes.length > 1) return;
      setImmediate(() => {
        const batch = this.#outcomes;
        this.#outcomes = [];
        try {
          this.#inTransaction(() => {
            for (const o of batch) o.write();
          });
        } catch (err) {
          for (const o of batch) o.reject(err);
          return;
        }
        for (const o of batch) o.resolve();
      });
    });
  }

  async #attempt(row: Row): Promise<void> {
    const channel = this.#channels.get(row.channel);
    const attempt = row.attempts + 1;
    const recipient: Recipient = { id: row.recipient_id, address: row.recipient_address };
    let result: SendResult;
    if (!channel) {
      result = { ok: false, permanent: true, error: `channel ${row.channel} is not configured` };
    } else {
      const message: ChannelMessage = {
        ...(JSON.parse(row.message) as NotifyMessage),
        deliveryId: row.delivery_id,
        alertId: row.alert_id,
        level: row.level as Level,
        round: row.round,
      };
      result = await this.#sendBounded(channel, message, recipient);
    }
    const now = this.#clock.now();
    if (result.ok) {
      await this.#record(() => {
        this.#st.markSent.run({ delivery_id: row.delivery_id, now, info: result.info ?? null });
        this.#auditSafe('notification.sent', row, { attempts: attempt });
      });
      this.#recovered(row.channel);
      return;
    }
    const error = redact(result.error, [row.recipient_address, ...(channel?.secrets() ?? [])]);
    const final = result.permanent || attempt >= this.#retry.maxAttempts;
    if (final) {
      await this.#record(() => {
        this.#st.markFailed.run({ delivery_id: row.delivery_id, now, error });
        this.#auditSafe('notification.failed', row, {
          attempts: attempt,
          error,
          permanent: result.permanent,
        });
      });
      this.#log.error(
        { delivery: row.delivery_id, channel: row.channel, alert: row.alert_id, recipient: row.recipient_id },
        `notification failed for good after ${attempt} attempt(s): ${error}`,
      );
      return;
    }
    const wait = Math.max(
      backoffMs(this.#retry, attempt, this.#random),
      Math.min(result.retryAfterMs ?? 0, this.#retry.capMs),
    );
    await this.#record(() => {
      this.#st.markRetry.run({ delivery_id: row.delivery_id, now, error, next: now + wait });
    });
    this.#noteFailure(row, error, wait);
  }

  async #sendBounded(channel: Channel, message: ChannelMessage, recipient: Recipient): Promise<SendResult> {
    let timer: ClockTimer | undefined;
    const timeout = new Promise<SendResult>((resolve) => {
      timer = this.#clock.setTimeout(
        () => resolve({ ok: false, permanent: false, error: `no answer within ${this.#sendTimeoutMs} ms` }),
        this.#sendTimeoutMs,
      );
    });
    try {
      return await Promise.race([
        channel.send(message, recipient).catch(
          (err: unknown): SendResult => ({
            ok: false,
            permanent: false,
            error: `channel threw: ${(err as Error)?.message ?? String(err)}`,
          }),
        ),
        timeout,
      ]);
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
    }
  }

  /** Logs the first failure of a run per channel; later ones are counted until a send succeeds. */
  #noteFailure(row: Row, error: string, waitMs: number): void {
    const f = this.#failing.get(row.channel);
    if (f && f.error === error) {
      f.suppressed++;
      return;
    }
    this.#failing.set(row.channel, { error, suppressed: 0 });
    this.#log.warn(
      {
        delivery: row.delivery_id,
        channel: row.channel,
        alert: row.alert_id,
        recipient: row.recipient_id,
        retryInMs: waitMs,
      },
      `notification attempt failed, will retry: ${error}`,
    );
  }

  #recovered(channel: string): void {
    const f = this.#failing.get(channel);
    if (!f) return;
    this.#failing.delete(channel);
    this.#log.info({ channel, failuresNotLogged: f.suppressed }, 'notification channel delivers again');
  }

  /** The audit must not stall or break delivery: its errors are logged, never thrown. */
  #auditSafe(action: string, row: Row, extra: Record<string, unknown>): void {
    const entry = {
      actor: 'system:notify',
      action,
      target: `alert:${row.alert_id}`,
      details: {
        delivery: row.delivery_id,
        channel: row.channel,
        recipient: row.recipient_id,
        level: row.level,
        round: row.round,
        ...extra,
      },
    };
    try {
      const r = this.#audit.record(entry);
      if (r && typeof (r as Promise<void>).catch === 'function') {
        (r as Promise<void>).catch((err: unknown) =>
          this.#log.error({ err: (err as Error)?.message, action }, 'audit record failed'),
        );
      }
    } catch (err) {
      this.#log.error({ err: (err as Error)?.message, action }, 'audit record failed');
    }
  }
}

/**
 * The de-duplication key: a hash, so the index stays small; the address is in it because the
 * same contact label may be reconfigured to another address, which is then a new recipient.
 */
export function dedupKey(alertId: string, level: Level, channel: string, address: string, round: string) {
  return createHash('sha256')
    .update(JSON.stringify([alertId, level, channel, address, round]))
    .digest('base64url');
}

function checkInput(input: EnqueueInput): void {
  const bad = (what: string) => {
    throw new NotifyError('SG_ERR_NOTIFY_MESSAGE', what);
  };
  if (!isLevel(input.level)) bad('level must be 0..4');
  if (typeof input.alertId !== 'string' || input.alertId.length === 0 || input.alertId.length > MAX_ID)
    bad('alertId must be 1..200 characters');
  const r = input.recipient;
  if (!r || typeof r.id !== 'string' || r.id.length === 0 || r.id.length > MAX_ID)
    bad('recipient.id must be 1..200 characters');
  if (typeof r.address !== 'string' || r.address.length > MAX_ADDRESS)
    bad('recipient.address must be at most 500 characters');
  if ((input.round ?? '').length > MAX_ID) bad('round must be at most 200 characters');
  const m = input.message;
  if (!m || typeof m.subject !== 'string' || m.subject.length > MAX_SUBJECT)
    bad(`message.subject must be a string of at most ${MAX_SUBJECT} characters`);
  if (typeof m.text !== 'string' || m.text.length > MAX_TEXT)
    bad(`message.text must be a string of at most ${MAX_TEXT} characters`);
  if (m.data !== undefined && JSON.stringify(m.data).length > MAX_DATA)
    bad(`message.data must be at most ${MAX_DATA} characters as JSON`);
}

function toDelivery(r: Row): Delivery {
  return {
    deliveryId: r.delivery_id,
    alertId: r.alert_id,
    level: r.level as Level,
    channel: r.channel,
    recipientId: r.recipient_id,
    round: r.round,
    state: r.state as DeliveryState,
    attempts: r.attempts,
    lastError: r.last_error,
    info: r.info,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    nextAttemptAt: r.next_attempt_at,
    lastAttemptAt: r.last_attempt_at,
    sentAt: r.sent_at,
  };
}

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    insert: s(`INSERT INTO notify_outbox (delivery_id, dedup_key, alert_id, level, channel, recipient_id,
        recipient_address, round, message, state, attempts, created_at, updated_at, next_attempt_at)
      VALUES (:delivery_id, :dedup_key, :alert_id, :level, :channel, :recipient_id, :recipient_address,
        :round, :message, 'queued', 0, :now, :now, :now)
      ON CONFLICT (dedup_key) DO NOTHING`),
    byDedup: s('SELECT delivery_id FROM notify_outbox WHERE dedup_key = :dedup_key'),
    byId: s('SELECT * FROM notify_outbox WHERE delivery_id = :delivery_id'),
    byAlert: s('SELECT * FROM notify_outbox WHERE alert_id = :alert_id ORDER BY seq'),
    counts: s('SELECT state, count(*) AS n FROM notify_outbox GROUP BY state'),
    prune: s("DELETE FROM notify_outbox WHERE state IN ('sent', 'failed') AND updated_at < :before"),
    // In order per (alert, channel, recipient): a notice waits while an older one to the same
    // recipient about the same alert is queued (being sent, or waiting for its retry), so a receiver
    // never gets "caution" after "warning" because the two were sent at once or one was retried.
    due: s(`SELECT seq FROM notify_outbox o WHERE state = 'queued' AND next_attempt_at <= :now
      AND NOT EXISTS (SELECT 1 FROM notify_outbox p WHERE p.alert_id = o.alert_id AND p.state = 'queued'
        AND p.channel = o.channel AND p.recipient_address = o.recipient_address AND p.seq < o.seq)
      ORDER BY next_attempt_at, seq LIMIT :limit`),
    bySeq: s('SELECT * FROM notify_outbox WHERE seq = :seq'),
    nextDue: s(`SELECT min(next_attempt_at) AS at FROM notify_outbox
      WHERE state = 'queued' AND next_attempt_at > :now`),
    beginAttempt: s(`UPDATE notify_outbox SET attempts = attempts + 1, last_attempt_at = :now,
      updated_at = :now WHERE delivery_id = :delivery_id AND state = 'queued'`),
    markSent: s(`UPDATE notify_outbox SET state = 'sent', sent_at = :now, updated_at = :now, info = :info,
      last_error = NULL WHERE delivery_id = :delivery_id AND state = 'queued'`),
    markFailed: s(`UPDATE notify_outbox SET state = 'failed', updated_at = :now, last_error = :error
      WHERE delivery_id = :delivery_id AND state = 'queued'`),
    markRetry: s(`UPDATE notify_outbox SET next_attempt_at = :next, updated_at = :now, last_error = :error
      WHERE delivery_id = :delivery_id AND state = 'queued'`),
  };
}
