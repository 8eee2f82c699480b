import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { NOTIFY_MIGRATIONS } from '../../src/notify/migrations.ts';
import { defaultArea } from '../../src/warn/area.ts';
import { parseWarnConfig } from '../../src/warn/config.ts';
import { WARN_MIGRATIONS } from '../../src/warn/migrations.ts';

/** The project's own copy of the OASIS schema (never ../shared). */
export const CAP_XSD = fileURLToPath(new URL('../../standards/CAP-v1.2.xsd', import.meta.url));

/**
 * Residents' warnings with the default configuration and one area around slope-a: the `warn` option
 * of a control center whose tests cover the warning routes too.
 */
export function warnOptions(dataDir: string) {
  const r = parseWarnConfig({}, { dataDir });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return {
    config: r.value,
    areas: new Map([['slope-a', defaultArea({ id: 'slope-a', position: [37.47, 127.02] })]]),
  };
}

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
