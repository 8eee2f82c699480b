import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MigrationError, migrate } from '../src/db/migrate.ts';
import { MIGRATIONS } from '../src/db/migrations.ts';
import { openOperationalDb } from '../src/db/open.ts';

describe('operational database', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'sg-opdb-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('applies every migration once, in order, in a 0600 file inside a 0700 folder', () => {
    const path = join(tmp(), 'state', 'control-center.sqlite');
    const db = openOperationalDb(path);
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all();
    expect(versions.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    db.exec("INSERT INTO users (username, role, hash, created, updated) VALUES ('kim', 'viewer', 'h', 1, 1)");
    expect(statSync(`${path}-wal`).mode & 0o777).toBe(0o600);
    db.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    // Reopening applies nothing and keeps the data.
    const again = openOperationalDb(path);
    expect(again.prepare('SELECT count(*) AS n FROM users').get()?.n).toBe(1);
    again.close();
  });

  it('rolls a failing migration back whole and refuses a database newer than the program', () => {
    const path = join(tmp(), 'db.sqlite');
    const broken = [
      ...MIGRATIONS,
      {
        version: MIGRATIONS.length + 1,
        name: 'half done',
        up: (db: import('node:sqlite').DatabaseSync) => db.exec('CREATE TABLE t (a); CREATE TABLE t (a);'),
      },
    ];
    expect(() => openOperationalDb(path, broken)).toThrow(MigrationError);
    const db = openOperationalDb(path);
    expect(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'").get()?.n).toBe(0);
    db.exec(`INSERT INTO schema_migrations VALUES (${MIGRATIONS.length + 1}, 'from the future', 1)`);
    expect(() => migrate(db, MIGRATIONS)).toThrow(/newer than this program/);
    db.close();
  });

  it('keeps one active alert per site and an append-only audit table', () => {
    const db = openOperationalDb(join(tmp(), 'db.sqlite'));
    const open = db.prepare(
      "INSERT INTO alerts (site, opened, updated, level, max_level, data_state) VALUES ('a', 1, 1, 1, 1, 'live')",
    );
    open.run();
    expect(() => open.run()).toThrow(/UNIQUE/);
    db.exec(
      "INSERT INTO audit (ts, actor, address, action, target, outcome, detail, prev, hash) VALUES (1, 'a', '::1', 'x', 'y', 'ok', '{}', '', 'h')",
    );
    expect(() => db.exec("UPDATE audit SET actor = 'b'")).toThrow(/append-only/);
    expect(() => db.exec('DELETE FROM audit')).toThrow(/append-only/);
    db.close();
  });
});
