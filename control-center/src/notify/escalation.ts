import type { DatabaseSync } from 'node:sqlite';
import { isLevel, type Level } from '@slopeguard/core';
import { childLogger } from '@slopeguard/core/log.ts';
import pino, { type Logger } from 'pino';
import type { Clock, ClockTimer } from './clock.ts';
import { NotifyError } from './errors.ts';
import { type AlertUpdate, officialsMessage } from './message.ts';
import type { Outbox } from './outbox.ts';

/**
 * Escalation of unacknowledged alerts to officials. A chain (per site, or the default) is a list of
 * tiers of contacts; tier i is told `afterMs` after the escalation started, and every tier already
 * told is reminded every `repeatMs` (at most `maxReminders` times) until someone acknowledges. It
 * starts when an alert is active, unacknowledged and at the chain's `minLevel` or above, and stops
 * when it is acknowledged, cleared or below that level. A cleared alert sends an all-clear to the
 * tiers that were told.
 *
 * Restart-safe without replaying anything: what is due is a pure function of the escalation's start
 * time, the alert's current level and the clock, and each notice has a de-duplication key
 * (alert, level, channel, recipient, round), so re-evaluating after a restart enqueues only what was
 * not enqueued before. Only the start time, a generation counter and the last update are stored.
 */
export interface EscalationContact {
  /** A label for logs and the audit ("duty-officer"); the address is never logged. */
  id: string;
  channel: string;
  address: string;
}

export interface EscalationTier {
  afterMs: number;
  contacts: readonly EscalationContact[];
}

export interface EscalationChain {
  minLevel: Level;
  /** Reminder interval for tiers already told; null: no reminders. */
  repeatMs: number | null;
  maxReminders: number;
  /** Tell the tiers that were told when the alert clears. */
  notifyClear: boolean;
  tiers: readonly EscalationTier[];
}

export interface EscalationPolicy {
  chains: ReadonlyMap<string, EscalationChain>;
  /** The chain of sites not named in `sites`; null: such sites do not escalate. */
  defaultChain: string | null;
  /** Site id -> chain name. */
  sites: ReadonlyMap<string, string>;
}

/** Where alert changes come from: the control center's alert store publishes each change. */
export interface AlertSource {
  subscribe(listener: (update: AlertUpdate) => void): () => void;
}

export interface EscalationOptions {
  db: DatabaseSync;
  outbox: Pick<Outbox, 'enqueue'>;
  policy: EscalationPolicy;
  clock: Clock;
  log?: Logger;
}

interface Row {
  alert_id: string;
  site: string;
  generation: number;
  started_at: number | null;
  reached: number;
  last_update: string;
}

export class Escalation {
  readonly #db: DatabaseSync;
  readonly #outbox: Pick<Outbox, 'enqueue'>;
  readonly #policy: EscalationPolicy;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #timers = new Map<string, ClockTimer>();
  readonly #st: ReturnType<typeof prepare>;
  #rejected = 0;
  #nextRejectLog = 0;
  #rejectsNotLogged = 0;
  #started = false;

  constructor(opts: EscalationOptions) {
    this.#db = opts.db;
    this.#outbox = opts.outbox;
    this.#policy = opts.policy;
    this.#clock = opts.clock;
    this.#log = childLogger(opts.log ?? pino({ level: 'silent' }), { component: 'notify-escalation' });
    this.#st = prepare(this.#db);
  }

  /** Updates refused as malformed since start (each is logged with its first problem). */
  get rejected(): number {
    return this.#rejected;
  }

  /** Picks up every escalation left running by an earlier process and sends what fell due meanwhile. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const row of this.#st.running.all() as unknown as Row[]) {
      try {
        this.#inTransaction(() => this.#evaluate(row.alert_id));
      } catch (err) {
        this.#log.error({ alert: row.alert_id, err: (err as Error).message }, 'escalation resume failed');
      }
    }
  }

  stop(): void {
    this.#started = false;
    for (const t of this.#timers.values()) this.#clock.clearTimeout(t);
    this.#timers.clear();
  }

  /** Feeds every update of `source` into the escalation; returns the unsubscribe function. */
  attach(source: AlertSource): () => void {
    return source.subscribe((u) => this.update(u));
  }

  /** Takes one alert change. Never throws: a malformed update is logged and counted. */
  update(input: AlertUpdate): void {
    const problem = checkUpdate(input);
    if (problem) {
      this.#rejected++;
      // One line per minute at most: a broken alert source must not flood the log.
      const now = this.#clock.now();
      if (now >= this.#nextRejectLog) {
        this.#nextRejectLog = now + 60_000;
        this.#log.warn(
          { rejected: this.#rejected, notLogged: this.#rejectsNotLogged },
          `alert update refused: ${problem}`,
        );
        this.#rejectsNotLogged = 0;
      } else {
        this.#rejectsNotLogged++;
      }
      return;
    }
    try {
      this.#inTransaction(() => this.#apply(input));
    } catch (err) {
      this.#log.error({ alert: input.alertId, err: (err as Error).message }, 'escalation update failed');
    }
  }

  #apply(u: AlertUpdate): void {
    const now = this.#clock.now();
    const chain = this.#chainFor(u.site);
    const row = this.#st.get.get({ alert_id: u.alertId }) as Row | undefined;
    const eligible =
      chain !== undefined && u.state === 'active' && !u.acknowledged && u.level >= chain.minLevel;
    const update = JSON.stringify(u);
    if (eligible) {
      const restart = !row || row.started_at === null;
      this.#st.upsert.run({
        alert_id: u.alertId,
        site: u.site,
        generation: restart ? (row?.generation ?? 0) + 1 : (row?.generation ?? 1),
        started_at: restart ? now : (row?.started_at ?? now),
        reached: row?.reached ?? 0,
        last_update: update,
        now,
      });
      this.#evaluate(u.alertId);
      return;
    }
    if (!row) return;
    this.#cancelTimer(u.alertId);
    this.#st.upsert.run({
      alert_id: row.alert_id,
      site: row.site,
      generation: row.generation,
      started_at: null,
      reached: row.reached,
      last_update: update,
      now,
    });
    if (u.state === 'cleared' && chain?.notifyClear && row.reached > 0)
      this.#sendClear(u, chain, row.reached, now);
  }

  /**
   * The state row and the notices it causes commit together (a crash leaves both or neither); inside
   * a caller's transaction, they join it.
   */
  #inTransaction(fn: () => void): void {
    if (this.#db.isTransaction) {
      fn();
      return;
    }
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      fn();
      this.#db.exec('COMMIT');
    } catch (err) {
      this.#db.exec('ROLLBACK');
      throw err;
    }
  }

  #chainFor(site: string): EscalationChain | undefined {
    const name = this.#policy.sites.get(site) ?? this.#policy.defaultChain;
    return name === null ? undefined : this.#policy.chains.get(name);
  }

  /** Enqueues what is due for a running escalation and sets its timer for the next due moment. */
  #evaluate(alertId: string): void {
    this.#cancelTimer(alertId);
    const row = this.#st.get.get({ alert_id: alertId }) as Row | undefined;
    if (!row || row.started_at === null) return;
    const startedAt = row.started_at;
    const u = JSON.parse(row.last_update) as AlertUpdate;
    const chain = this.#chainFor(u.site);
    if (!chain) return;
    const now = this.#clock.now();
    const elapsed = now - startedAt;
    let reached = row.reached;
    let next = Number.POSITIVE_INFINITY;
    chain.tiers.forEach((tier, i) => {
      if (tier.afterMs > elapsed) {
        next = Math.min(next, startedAt + tier.afterMs);
        return;
      }
      reached = Math.max(reached, i + 1);
      let reminder = 0;
      if (chain.repeatMs !== null && chain.repeatMs > 0) {
        // A tier told for the first time (late, after a restart) gets the first notice, not a reminder.
        const firstTime = i >= row.reached;
        const due = Math.min(chain.maxReminders, Math.floor((elapsed - tier.afterMs) / chain.repeatMs));
        reminder = firstTime ? 0 : due;
        if (due < chain.maxReminders) {
          next = Math.min(next, startedAt + tier.afterMs + (due + 1) * chain.repeatMs);
        }
      }
      const message = officialsMessage(u, { kind: 'alert', reminder }, now);
      for (const c of tier.contacts) {
        this.#enqueue(u, c, u.level, `g${row.generation}.r${reminder}`, message);
      }
    });
    if (reached !== row.reached) this.#st.setReached.run({ alert_id: alertId, reached, now });
    if (Number.isFinite(next)) this.#arm(alertId, next - now);
  }

  #arm(alertId: string, delayMs: number): void {
    if (!this.#started) return;
    this.#cancelTimer(alertId);
    this.#timers.set(
      alertId,
      this.#clock.setTimeout(() => {
        this.#timers.delete(alertId);
        try {
          this.#inTransaction(() => this.#evaluate(alertId));
        } catch (err) {
          // The database refused (full or failing disk): try the step again rather than go silent.
          this.#log.error(
            { alert: alertId, err: (err as Error).message },
            'escalation step failed; retrying',
          );
          this.#arm(alertId, STEP_RETRY_MS);
        }
      }, delayMs),
    );
  }

  #sendClear(u: AlertUpdate, chain: EscalationChain, reached: number, now: number): void {
    const message = officialsMessage({ ...u, level: 0 }, { kind: 'clear', reminder: 0 }, now);
    for (const tier of chain.tiers.slice(0, reached)) {
      for (const c of tier.contacts) this.#enqueue(u, c, 0, 'clear', message);
    }
  }

  #enqueue(
    u: AlertUpdate,
    c: EscalationContact,
    level: Level,
    round: string,
    message: ReturnType<typeof officialsMessage>,
  ): void {
    try {
      this.#outbox.enqueue({
        alertId: u.alertId,
        level,
        channel: c.channel,
        recipient: { id: c.id, address: c.address },
        round,
        message,
      });
    } catch (err) {
      // A database error fails the whole step (rolled back, retried); a caller's error does not.
      if (!(err instanceof NotifyError)) throw err;
      // A channel removed from the configuration while alerts escalate: the others still go out.
      this.#log.error(
        { alert: u.alertId, contact: c.id, channel: c.channel, err: (err as Error).message },
        'could not queue a notification',
      );
    }
  }

  #cancelTimer(alertId: string): void {
    const t = this.#timers.get(alertId);
    if (t === undefined) return;
    this.#clock.clearTimeout(t);
    this.#timers.delete(alertId);
  }
}

const STEP_RETRY_MS = 10_000;
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** The first problem of an update from the alert stream, or undefined when it is well formed. */
function checkUpdate(u: unknown): string | undefined {
  if (typeof u !== 'object' || u === null) return 'not an object';
  const a = u as Record<string, unknown>;
  if (typeof a.alertId !== 'string' || !ID.test(a.alertId)) return 'alertId must be an id';
  if (typeof a.site !== 'string' || !ID.test(a.site)) return 'site must be an id';
  if (!isLevel(a.level)) return 'level must be an integer 0..4';
  if (a.state !== 'active' && a.state !== 'cleared') return 'state must be active or cleared';
  if (typeof a.acknowledged !== 'boolean') return 'acknowledged must be a boolean';
  if (a.reasons !== undefined) {
    if (!Array.isArray(a.reasons) || a.reasons.length > 50 || a.reasons.some((r) => typeof r !== 'string'))
      return 'reasons must be at most 50 strings';
  }
  if (a.at !== undefined && !(typeof a.at === 'number' && Number.isFinite(a.at) && a.at >= 0))
    return 'at must be epoch milliseconds';
  return undefined;
}

function prepare(db: DatabaseSync) {
  return {
    get: db.prepare('SELECT * FROM notify_escalation WHERE alert_id = :alert_id'),
    running: db.prepare('SELECT * FROM notify_escalation WHERE started_at IS NOT NULL'),
    upsert: db.prepare(`INSERT INTO notify_escalation
        (alert_id, site, generation, started_at, reached, last_update, updated_at)
      VALUES (:alert_id, :site, :generation, :started_at, :reached, :last_update, :now)
      ON CONFLICT (alert_id) DO UPDATE SET site = excluded.site, generation = excluded.generation,
        started_at = excluded.started_at, reached = excluded.reached, last_update = excluded.last_update,
        updated_at = excluded.updated_at`),
    setReached: db.prepare(
      'UPDATE notify_escalation SET reached = :reached, updated_at = :now WHERE alert_id = :alert_id',
    ),
  };
}
