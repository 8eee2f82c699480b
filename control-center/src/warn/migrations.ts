import type { Migration } from '../notify/migrations.ts';

/**
 * The warning tables of the operational database, for the control center's migration runner.
 * Versions 200+ belong to warn/ (notify/ has 100+). Residents' data (push subscriptions, e-mail
 * addresses) lives only in the two subscription tables and is deleted, not flagged, on unsubscribe.
 */
export const WARN_MIGRATIONS: readonly Migration[] = [
  {
    version: 200,
    name: 'warn_cap_messages',
    up(db) {
      // Every CAP message as published, byte for byte: /cap/alerts/{id}.xml serves `xml` unchanged,
      // and later messages of the episode reference `sent` exactly as it was written.
      db.exec(`
        CREATE TABLE warn_cap_messages (
          seq INTEGER PRIMARY KEY,
          identifier TEXT NOT NULL UNIQUE,
          sender TEXT NOT NULL,
          area TEXT NOT NULL,
          episode TEXT NOT NULL,
          msg_type TEXT NOT NULL CHECK (msg_type IN ('Alert', 'Update', 'Cancel')),
          kind TEXT NOT NULL,
          exercise INTEGER NOT NULL CHECK (exercise IN (0, 1)),
          sent TEXT NOT NULL,
          sent_at INTEGER NOT NULL,
          headline TEXT NOT NULL,
          xml TEXT NOT NULL
        ) STRICT;
        CREATE INDEX warn_cap_messages_episode ON warn_cap_messages (area, episode, seq);
        CREATE INDEX warn_cap_messages_area ON warn_cap_messages (area, seq);
      `);
    },
  },
  {
    version: 201,
    name: 'warn_push_subscriptions',
    up(db) {
      db.exec(`
        CREATE TABLE warn_push_subscriptions (
          id TEXT PRIMARY KEY,
          area TEXT NOT NULL,
          endpoint TEXT NOT NULL,
          p256dh TEXT NOT NULL,
          auth TEXT NOT NULL,
          lang TEXT NOT NULL CHECK (lang IN ('ko', 'en')),
          created_at INTEGER NOT NULL,
          UNIQUE (area, endpoint)
        ) STRICT;
        CREATE INDEX warn_push_subscriptions_area ON warn_push_subscriptions (area);
      `);
    },
  },
  {
    version: 202,
    name: 'warn_email_subscriptions',
    up(db) {
      // `confirm_hash`: SHA-256 of the opt-in token (the token itself is only in the mail);
      // `unsubscribe_token`: put into every message, so it is kept as it is.
      db.exec(`
        CREATE TABLE warn_email_subscriptions (
          id TEXT PRIMARY KEY,
          area TEXT NOT NULL,
          email TEXT NOT NULL,
          lang TEXT NOT NULL CHECK (lang IN ('ko', 'en')),
          state TEXT NOT NULL CHECK (state IN ('pending', 'active')),
          confirm_hash TEXT,
          confirm_expires_at INTEGER,
          confirm_sent_at INTEGER,
          unsubscribe_token TEXT NOT NULL UNIQUE,
          created_at INTEGER NOT NULL,
          confirmed_at INTEGER,
          UNIQUE (area, email)
        ) STRICT;
        CREATE INDEX warn_email_subscriptions_confirm ON warn_email_subscriptions (confirm_hash);
        CREATE INDEX warn_email_subscriptions_area ON warn_email_subscriptions (area, state);
      `);
    },
  },
  {
    version: 203,
    name: 'warn_notices',
    up(db) {
      // What each site's retained notice topic was last set to (a key of kind, level, drill and
      // episode, not the text), so that a restart does not publish the same notice again.
      db.exec(`
        CREATE TABLE warn_notices (
          site TEXT PRIMARY KEY,
          key TEXT NOT NULL,
          published_at INTEGER NOT NULL
        ) STRICT;
      `);
    },
  },
];
