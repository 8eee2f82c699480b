import type { DatabaseSync } from 'node:sqlite';

/** One step of the operational database's schema. Versions rise by one; a step never changes once shipped. */
export interface Migration {
  version: number;
  name: string;
  up(db: DatabaseSync): void;
}

export class MigrationError extends Error {
  readonly code = 'SG_ERR_DB_MIGRATION';
}

/**
 * Applies the pending migrations in order, each in its own transaction with its version row, so
 * a crash leaves the database at a whole version. A database newer than this program (a version
 * it does not know) is refused rather than used half-understood.
 */
export function migrate(db: DatabaseSync, migrations: readonly Migration[], now = Date.now()): number[] {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new MigrationError(`migration ${m.name}: version ${m.version}, expected ${i + 1}`);
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)`);
  const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as Array<{
    version: number;
    name: string;
  }>;
  const known = new Map(migrations.map((m) => [m.version, m.name]));
  for (const r of rows) {
    if (!known.has(r.version))
      throw new MigrationError(
        `database is at version ${r.version} (${r.name}), newer than this program (${migrations.length})`,
      );
  }
  const done = new Set(rows.map((r) => r.version));
  const applied: number[] = [];
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      m.up(db);
      record.run(m.version, m.name, now);
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw new MigrationError(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`);
    }
    applied.push(m.version);
  }
  return applied;
}
