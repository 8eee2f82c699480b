import { NOTIFY_MIGRATIONS } from '../notify/migrations.ts';
import { WARN_MIGRATIONS } from '../warn/migrations.ts';
import type { Migration } from './migrate.ts';

/**
 * Every migration of the operational database, in order, in this one list: the core steps (1-99),
 * then notifications (100-199, notify/migrations.ts) and residents' warnings (200-299,
 * warn/migrations.ts). Never edit a shipped step: add one.
 */
const CORE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, sessions, api tokens',
    up(db) {
      db.exec(`
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
  hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL REFERENCES users(id),
  csrf TEXT NOT NULL,
  created INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  address TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  scope TEXT NOT NULL CHECK (scope IN ('read', 'open-data', 'operator')),
  token_hash TEXT NOT NULL UNIQUE,
  created_by TEXT NOT NULL,
  created INTEGER NOT NULL,
  revoked INTEGER
);`);
    },
  },
  {
    version: 2,
    name: 'audit log (append-only, hash-chained)',
    up(db) {
      db.exec(`
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  actor TEXT NOT NULL,
  address TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL,
  prev TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;`);
    },
  },
  {
    version: 3,
    name: 'alerts and their history; manual levels',
    up(db) {
      db.exec(`
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  site TEXT NOT NULL,
  opened INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  cleared INTEGER,
  level INTEGER NOT NULL,
  max_level INTEGER NOT NULL,
  data_state TEXT NOT NULL,
  acknowledged INTEGER,
  ack_by TEXT,
  ack_comment TEXT
);
-- One active alert per site: a restart mid-storm finds it instead of opening a second one.
CREATE UNIQUE INDEX alerts_one_active ON alerts(site) WHERE cleared IS NULL;
CREATE TABLE alert_events (
  id INTEGER PRIMARY KEY,
  alert_id INTEGER NOT NULL REFERENCES alerts(id),
  ts INTEGER NOT NULL,
  kind TEXT NOT NULL,
  actor TEXT,
  level INTEGER,
  data_state TEXT,
  text TEXT
);
CREATE INDEX alert_events_alert ON alert_events(alert_id, id);
CREATE TABLE manual_levels (
  site TEXT PRIMARY KEY,
  level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
  actor TEXT NOT NULL,
  reason TEXT NOT NULL,
  ts INTEGER NOT NULL
);`);
    },
  },
  {
    version: 4,
    name: 'gateway commands',
    up(db) {
      db.exec(`
CREATE TABLE commands (
  id TEXT PRIMARY KEY,
  site TEXT NOT NULL,
  gateway TEXT NOT NULL,
  name TEXT NOT NULL,
  args TEXT NOT NULL,
  actor TEXT NOT NULL,
  sent INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('sent', 'acked', 'failed', 'timeout')),
  answered INTEGER,
  result TEXT,
  error TEXT
);
CREATE INDEX commands_gateway ON commands(site, gateway, sent);`);
    },
  },
];

export const MIGRATIONS: readonly Migration[] = [
  ...CORE_MIGRATIONS,
  ...NOTIFY_MIGRATIONS,
  ...WARN_MIGRATIONS,
];
