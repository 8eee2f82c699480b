import type { DatabaseSync } from 'node:sqlite';

/** One step of the operational database's schema. Versions rise; a step never changes once shipped. */
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
  // Versions rise strictly; each part of the control center owns a range (core 1-99, notifications
  // 100-199, residents' warnings 200-299), so a part can add a step without renumbering the others.
  migrations.forEach((m, i) => {
    const prev = migrations[i - 1];
    if (!Number.isInteger(m.version) || m.version < 1 || (prev && m.version <= prev.version))
      throw new MigrationError(
        `migration ${m.name}: version ${m.version} does not follow ${prev?.version ?? 0}`,
      );
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
