import type { DatabaseSync } from 'node:sqlite';

/**
 * The notification tables of the operational database, as migrations for the control center's
 * migration runner. Versions 100+ belong to notify/ so they never collide with the other tables'.
 * A migration is applied once, in version order, inside the runner's transaction.
 */
export interface Migration {
  version: number;
  name: string;
  up(db: DatabaseSync): void;
}

export const NOTIFY_MIGRATIONS: readonly Migration[] = [
  {
    version: 100,
    name: 'notify_outbox',
    up(db) {
      // One row per delivery: a message to one recipient over one channel. `delivery_id` is the
      // idempotency key sent with every attempt; `dedup_key` (a hash of alert, level, channel,
      // recipient address and round) makes a second enqueue of the same notice a no-op.
      db.exec(`
        CREATE TABLE notify_outbox (
          seq INTEGER PRIMARY KEY,
          delivery_id TEXT NOT NULL UNIQUE,
          dedup_key TEXT NOT NULL UNIQUE,
          alert_id TEXT NOT NULL,
          level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 4),
          channel TEXT NOT NULL,
          recipient_id TEXT NOT NULL,
          recipient_address TEXT NOT NULL,
          round TEXT NOT NULL,
          message TEXT NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
          attempts INTEGER NOT NULL DEFAULT 0,
          last_error TEXT,
          info TEXT,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          next_attempt_at INTEGER NOT NULL,
          last_attempt_at INTEGER,
          sent_at INTEGER
        ) STRICT;
        CREATE INDEX notify_outbox_due ON notify_outbox (state, next_attempt_at);
        CREATE INDEX notify_outbox_alert ON notify_outbox (alert_id);
      `);
    },
  },
  {
    version: 101,
    name: 'notify_escalation',
    up(db) {
      // One row per alert that escalation has seen. `started_at` is set while it escalates (null once
      // acknowledged, cleared or below the chain's level); `generation` counts restarts of the
      // timeline (an alert unacknowledged again starts over); `reached` is how many tiers were told,
      // so that an all-clear goes to exactly those; `last_update` is the alert as last received.
      db.exec(`
        CREATE TABLE notify_escalation (
          alert_id TEXT PRIMARY KEY,
          site TEXT NOT NULL,
          generation INTEGER NOT NULL,
          started_at INTEGER,
          reached INTEGER NOT NULL DEFAULT 0,
          last_update TEXT NOT NULL,
          updated_at INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX notify_escalation_running ON notify_escalation (started_at) WHERE started_at IS NOT NULL;
      `);
    },
  },
  {
    version: 102,
    name: 'notify_outbox_recipient_order',
    up(db) {
      // The due query holds a notice back while an older one to the same recipient about the same
      // alert is still queued; without this index that check scans every row of the alert (10,000
      // for a residents' fan-out) for each due row.
      db.exec(`
        CREATE INDEX notify_outbox_queued_recipient
          ON notify_outbox (alert_id, channel, recipient_address, seq) WHERE state = 'queued';
      `);
    },
  },
];
