import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { WarnError } from './errors.ts';
import type { Lang } from './messages.ts';

/**
 * Residents' e-mail subscriptions per area, with double opt-in (table warn_email_subscriptions).
 *
 * - `request` stores the address as pending; the confirmation mail (subscriber-email.ts) carries a
 *   one-time token made when the mail is sent, of which only the SHA-256 is stored, valid 24 hours.
 *   A pending address gets no warnings, and is deleted when its token expires (`purgeExpired`), so
 *   an address someone else typed in is not kept.
 * - `confirm(token)` makes it active. Every warning mail carries the unsubscribe link with the
 *   subscription's own random token; `unsubscribe(token)` deletes the row.
 * - The same address asking again within `resendAfterMs` gets no second mail (a form cannot be used
 *   to flood someone's inbox); an active address asking again gets none either. The answer to the
 *   web form is the same in every case, so the form does not reveal who is subscribed.
 *
 * Addresses are personal data: never logged (the outbox sees only the subscription id), deleted on
 * unsubscribe.
 */
export interface EmailStoreOptions {
  db: DatabaseSync;
  now: () => number;
  confirmTtlMs?: number;
  resendAfterMs?: number;
}

export interface EmailSubscription {
  id: string;
  area: string;
  email: string;
  lang: Lang;
  state: 'pending' | 'active';
  unsubscribeToken: string;
  confirmExpiresAt: number | null;
}

export type ConfirmResult = { ok: true; area: string } | { ok: false; reason: 'unknown' | 'expired' };

const MAX_EMAIL = 254; // RFC 5321 4.5.3.1.3 path limit less the angle brackets
/** A deliberately plain check: one @, an ASCII domain with a dot, no spaces or specials. */
const EMAIL = /^[A-Za-z0-9._%+'-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

export const hashToken = (token: string) => createHash('sha256').update(token).digest('base64url');

export class EmailSubscriptions {
  readonly #st: ReturnType<typeof prepare>;
  readonly #db: DatabaseSync;
  readonly #now: () => number;
  readonly #ttl: number;
  readonly #resendAfter: number;

  constructor(opts: EmailStoreOptions) {
    this.#db = opts.db;
    this.#st = prepare(opts.db);
    this.#now = opts.now;
    this.#ttl = opts.confirmTtlMs ?? 24 * 3600_000;
    this.#resendAfter = opts.resendAfterMs ?? 10 * 60_000;
  }

  get db(): DatabaseSync {
    return this.#db;
  }

  get confirmTtlMs(): number {
    return this.#ttl;
  }

  /**
   * Records a request; `sendConfirmation` says whether a confirmation mail should be queued now.
   * Throws SG_ERR_WARN_SUBSCRIPTION for an address that is not one (the message quotes nothing).
   */
  request(area: string, email: string, lang: Lang = 'ko'): { id: string; sendConfirmation: boolean } {
    const address = normaliseEmail(email);
    const now = this.#now();
    const existing = this.#st.byAddress.get({ area, email: address }) as Row | undefined;
    if (existing) {
      if (existing.state === 'active') return { id: existing.id, sendConfirmation: false };
      const recent = existing.confirm_sent_at !== null && now - existing.confirm_sent_at < this.#resendAfter;
      if (recent) return { id: existing.id, sendConfirmation: false };
      this.#st.requested.run({ id: existing.id, now });
      return { id: existing.id, sendConfirmation: true };
    }
    const id = randomUUID();
    this.#st.insert.run({
      id,
      area,
      email: address,
      lang: lang === 'en' ? 'en' : 'ko',
      unsubscribe_token: randomBytes(24).toString('base64url'),
      now,
    });
    return { id, sendConfirmation: true };
  }

  /**
   * A fresh opt-in token for a pending subscription, made when its mail is sent; the previous one
   * stops working. Undefined when the subscription is gone or already active.
   */
  issueConfirmToken(id: string): string | undefined {
    const token = randomBytes(24).toString('base64url');
    const now = this.#now();
    const r = this.#st.setConfirm.run({ id, hash: hashToken(token), expires: now + this.#ttl, now });
    return Number(r.changes) > 0 ? token : undefined;
  }

  confirm(token: string): ConfirmResult {
    if (typeof token !== 'string' || token.length === 0 || token.length > 100)
      return { ok: false, reason: 'unknown' };
    const row = this.#st.byConfirm.get({ hash: hashToken(token) }) as Row | undefined;
    if (!row) return { ok: false, reason: 'unknown' };
    if ((row.confirm_expires_at ?? 0) <= this.#now()) return { ok: false, reason: 'expired' };
    this.#st.activate.run({ id: row.id, now: this.#now() });
    return { ok: true, area: row.area };
  }

  /** Deletes the subscription the token belongs to; true when there was one. */
  unsubscribe(token: string): boolean {
    if (typeof token !== 'string' || token.length === 0 || token.length > 100) return false;
    return Number(this.#st.deleteByToken.run({ token }).changes) > 0;
  }

  get(id: string): EmailSubscription | undefined {
    const r = this.#st.byId.get({ id }) as Row | undefined;
    return r ? toSub(r) : undefined;
  }

  /** Active subscriptions of an area, ids and languages only. */
  recipients(area: string): { id: string; lang: Lang }[] {
    return this.#st.active.all({ area }) as unknown as { id: string; lang: Lang }[];
  }

  /** Deletes pending requests whose token expired (or that never got one within the window). */
  purgeExpired(): number {
    const now = this.#now();
    return Number(this.#st.purge.run({ now, stale: now - this.#ttl }).changes);
  }

  count(state?: 'pending' | 'active'): number {
    const r = (state ? this.#st.countState.get({ state }) : this.#st.countAll.get()) as { n: number };
    return r.n;
  }
}

export function normaliseEmail(email: unknown): string {
  if (typeof email !== 'string' || email.length > MAX_EMAIL)
    throw new WarnError('SG_ERR_WARN_SUBSCRIPTION', 'not an e-mail address');
  const e = email.trim();
  if (!EMAIL.test(e)) throw new WarnError('SG_ERR_WARN_SUBSCRIPTION', 'not an e-mail address');
  const at = e.lastIndexOf('@');
  // The local part is case-sensitive in principle (RFC 5321 2.4); the domain is not.
  return `${e.slice(0, at)}@${e.slice(at + 1).toLowerCase()}`;
}

interface Row {
  id: string;
  area: string;
  email: string;
  lang: string;
  state: 'pending' | 'active';
  confirm_expires_at: number | null;
  confirm_sent_at: number | null;
  unsubscribe_token: string;
}

function toSub(r: Row): EmailSubscription {
  return {
    id: r.id,
    area: r.area,
    email: r.email,
    lang: r.lang === 'en' ? 'en' : 'ko',
    state: r.state,
    unsubscribeToken: r.unsubscribe_token,
    confirmExpiresAt: r.confirm_expires_at,
  };
}

const COLS = 'id, area, email, lang, state, confirm_expires_at, confirm_sent_at, unsubscribe_token';

function prepare(db: DatabaseSync) {
  const s = (sql: string): StatementSync => db.prepare(sql);
  return {
    byAddress: s(`SELECT ${COLS} FROM warn_email_subscriptions WHERE area = :area AND email = :email`),
    byId: s(`SELECT ${COLS} FROM warn_email_subscriptions WHERE id = :id`),
    byConfirm: s(
      `SELECT ${COLS} FROM warn_email_subscriptions WHERE confirm_hash = :hash AND state = 'pending'`,
    ),
    insert:
      s(`INSERT INTO warn_email_subscriptions (id, area, email, lang, state, unsubscribe_token, created_at,
        confirm_sent_at)
      VALUES (:id, :area, :email, :lang, 'pending', :unsubscribe_token, :now, :now)`),
    requested: s('UPDATE warn_email_subscriptions SET confirm_sent_at = :now WHERE id = :id'),
    setConfirm: s(`UPDATE warn_email_subscriptions SET confirm_hash = :hash, confirm_expires_at = :expires,
      confirm_sent_at = :now WHERE id = :id AND state = 'pending'`),
    activate:
      s(`UPDATE warn_email_subscriptions SET state = 'active', confirmed_at = :now, confirm_hash = NULL,
      confirm_expires_at = NULL WHERE id = :id`),
    deleteByToken: s('DELETE FROM warn_email_subscriptions WHERE unsubscribe_token = :token'),
    active: s(`SELECT id, lang FROM warn_email_subscriptions WHERE area = :area AND state = 'active'
      ORDER BY created_at, id`),
    purge: s(`DELETE FROM warn_email_subscriptions WHERE state = 'pending'
      AND ((confirm_expires_at IS NOT NULL AND confirm_expires_at <= :now)
        OR (confirm_expires_at IS NULL AND created_at <= :stale))`),
    countState: s('SELECT count(*) AS n FROM warn_email_subscriptions WHERE state = :state'),
    countAll: s('SELECT count(*) AS n FROM warn_email_subscriptions'),
  };
}
