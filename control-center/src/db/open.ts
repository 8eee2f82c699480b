import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type Migration, migrate } from './migrate.ts';
import { MIGRATIONS } from './migrations.ts';

/**
 * The control center's operational database (users, sessions, tokens, audit, alerts, commands):
 * one SQLite file. It holds password hashes and personal data, so its folder is created 0700 and
 * the file 0600 before SQLite opens it (SQLite gives its -wal and -shm files the file's mode).
 */
export function openOperationalDb(path: string, migrations: readonly Migration[] = MIGRATIONS): DatabaseSync {
  if (path !== ':memory:') {
    const dir = dirname(path);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;');
  migrate(db, migrations);
  return db;
}
