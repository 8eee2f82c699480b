import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { NOTIFY_MIGRATIONS } from '../../src/notify/migrations.ts';
import { WARN_MIGRATIONS } from '../../src/warn/migrations.ts';

/** The project's own copy of the OASIS schema (never ../shared). */
export const CAP_XSD = fileURLToPath(new URL('../../standards/CAP-v1.2.xsd', import.meta.url));

/**
 * A real SQLite file with the notify and warn migrations applied as the control center's runner
 * will (each in a transaction, in version order).
 */
export function openWarnDb(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000');
  for (const m of [...NOTIFY_MIGRATIONS, ...WARN_MIGRATIONS].sort((a, b) => a.version - b.version)) {
    db.exec('BEGIN');
    m.up(db);
    db.exec('COMMIT');
  }
  return db;
}

/**
 * Validates with Debian's xmllint (libxml2-utils), a validator nobody here wrote. `schema` absent:
 * well-formedness only.
 */
export function xmllint(
  dir: string,
  name: string,
  xml: string,
  schema?: string,
): { ok: boolean; output: string } {
  const file = join(dir, name);
  writeFileSync(file, xml);
  const args = schema ? ['--noout', '--schema', schema, file] : ['--noout', file];
  const r = spawnSync('xmllint', args, { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}
