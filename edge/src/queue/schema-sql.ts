/**
 * Tables of the gateway queue. `batch` is NULL until the reading is cut into a telemetry batch; a
 * batch's rows lie between its first and last id, so acknowledging it is a range delete on the rowid.
 * `keep` marks readings taken while the local level was raised: the quota drops them last.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS readings (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sensor TEXT NOT NULL,
  ts INTEGER NOT NULL,
  keep INTEGER NOT NULL DEFAULT 0,
  batch INTEGER,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
  seq INTEGER PRIMARY KEY,
  first_id INTEGER NOT NULL,
  last_id INTEGER NOT NULL,
  count INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;
