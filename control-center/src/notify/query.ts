import type { DatabaseSync } from 'node:sqlite';
import type { EscalationChain, EscalationPolicy } from './escalation.ts';
import type { DeliveryState } from './outbox.ts';

/**
 * Read-only views of the notification tables for the officials' dashboard: what was sent about an
 * alert (the outbox's delivery records) and where its escalation stands (the escalation row, the
 * chain and the clock). Nothing here writes; the outbox and the escalation own their rows.
 */

/** One delivery record of an alert, as the dashboard shows it. */
export interface NotificationView {
  deliveryId: string;
  channel: string;
  recipientId: string;
  /** The contact's address (phone number, e-mail): personal data, masked unless `full` is asked. */
  address: string;
  level: number;
  /** Which notice: `g{generation}.r{reminder}` (r0 the first notice of a tier), or `clear`. */
  round: string;
  state: DeliveryState;
  attempts: number;
  lastError: string | null;
  created: number;
  updated: number;
  lastAttempt: number | null;
  sent: number | null;
}

interface OutboxRow {
  delivery_id: string;
  channel: string;
  recipient_id: string;
  recipient_address: string;
  level: number;
  round: string;
  state: string;
  attempts: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  last_attempt_at: number | null;
  sent_at: number | null;
}

/** Most deliveries listed for one alert (a chain with reminders makes dozens, not thousands). */
export const MAX_NOTIFICATIONS = 500;

/**
 * An address with its middle hidden: enough for an official to tell "the duty officer's phone"
 * from another, not enough to call it. `k***@example.go.kr`, `•••••••5678`; short ones fully.
 */
export function maskAddress(address: string): string {
  if (address === '') return '';
  const at = address.lastIndexOf('@');
  if (at > 0) return `${address.charAt(0)}***${address.slice(at)}`;
  if (address.length <= 6) return '•'.repeat(address.length);
  return `${'•'.repeat(Math.min(8, address.length - 4))}${address.slice(-4)}`;
}

/** Deliveries about one alert (officials' escalation and all-clear), oldest first. */
export function notificationsOf(db: DatabaseSync, alertId: string, full: boolean): NotificationView[] {
  const rows = db
    .prepare(
      `SELECT delivery_id, channel, recipient_id, recipient_address, level, round, state, attempts,
         last_error, created_at, updated_at, last_attempt_at, sent_at
       FROM notify_outbox WHERE alert_id = ? ORDER BY seq LIMIT ${MAX_NOTIFICATIONS}`,
    )
    .all(alertId) as unknown as OutboxRow[];
  return rows.map((r) => ({
    deliveryId: r.delivery_id,
    channel: r.channel,
    recipientId: r.recipient_id,
    address: full ? r.recipient_address : maskAddress(r.recipient_address),
    level: r.level,
    round: r.round,
    state: r.state as DeliveryState,
    attempts: r.attempts,
    lastError: r.last_error,
    created: r.created_at,
    updated: r.updated_at,
    lastAttempt: r.last_attempt_at,
    sent: r.sent_at,
  }));
}

export interface TierView {
  /** 1-based, as officials count tiers. */
  tier: number;
  /** When this tier is (or was) due, from the escalation's start; null when not running. */
  dueAt: number | null;
  /** When its first notice was queued in this escalation round, or null when it was not told. */
  toldAt: number | null;
  contacts: string[];
}

export interface EscalationView {
  chain: string;
  minLevel: number;
  /** True while it escalates (active, unacknowledged, at or above the chain's level). */
  running: boolean;
  startedAt: number | null;
  /** Tiers told so far. */
  reached: number;
  tiers: TierView[];
  /** The next tier's due time, or null (none left, or not running). */
  nextTierAt: number | null;
  /** The next reminder to the tiers already told, or null. */
  nextReminderAt: number | null;
}

interface EscalationRow {
  site: string;
  generation: number;
  started_at: number | null;
  reached: number;
}

function chainOf(policy: EscalationPolicy, site: string): { name: string; chain: EscalationChain } | null {
  const name = policy.sites.get(site) ?? policy.defaultChain;
  const chain = name === null ? undefined : policy.chains.get(name);
  return name !== null && chain ? { name, chain } : null;
}

/**
 * Where an alert's escalation stands at `now`: the same arithmetic as the escalation's own
 * evaluation (what is due is a function of the start time, the chain and the clock), so what the
 * page says is what the escalation will do. Null when the alert's site has no chain or the
 * escalation never saw the alert (below the chain's level).
 */
export function escalationOf(
  db: DatabaseSync,
  policy: EscalationPolicy,
  alertId: string,
  site: string,
  now: number,
  sent: readonly NotificationView[],
): EscalationView | null {
  const c = chainOf(policy, site);
  if (!c) return null;
  const row = db
    .prepare('SELECT site, generation, started_at, reached FROM notify_escalation WHERE alert_id = ?')
    .get(alertId) as unknown as EscalationRow | undefined;
  const { chain } = c;
  const startedAt = row?.started_at ?? null;
  const running = startedAt !== null;
  const elapsed = running ? now - startedAt : 0;
  const firstRound = row ? `g${row.generation}.r0` : '';
  let nextTierAt: number | null = null;
  let nextReminderAt: number | null = null;
  const tiers = chain.tiers.map((tier, i): TierView => {
    const contacts = tier.contacts.map((x) => x.id);
    const told = sent.filter((n) => n.round === firstRound && contacts.includes(n.recipientId));
    const toldAt = told.length > 0 ? Math.min(...told.map((n) => n.created)) : null;
    const dueAt = running ? startedAt + tier.afterMs : null;
    if (running && dueAt !== null) {
      if (tier.afterMs > elapsed) nextTierAt = nextTierAt === null ? dueAt : Math.min(nextTierAt, dueAt);
      else if (chain.repeatMs !== null && chain.repeatMs > 0) {
        const due = Math.min(chain.maxReminders, Math.floor((elapsed - tier.afterMs) / chain.repeatMs));
        if (due < chain.maxReminders) {
          const at = dueAt + (due + 1) * chain.repeatMs;
          nextReminderAt = nextReminderAt === null ? at : Math.min(nextReminderAt, at);
        }
      }
    }
    return { tier: i + 1, dueAt, toldAt, contacts };
  });
  if (!row && !running) return null;
  return {
    chain: c.name,
    minLevel: chain.minLevel,
    running,
    startedAt,
    reached: row?.reached ?? 0,
    tiers,
    nextTierAt,
    nextReminderAt,
  };
}
