import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Data files hold scrypt hashes (registry), sessions and readings: only the service's own user may
 * read them, whatever the process umask. Directories this creates are 0700; the file is created
 * 0600 (or set to 0600 if an older version left it wider). SQLite creates its -wal and -shm files
 * with the permissions of the database file, so those follow.
 */
export function ensurePrivateFile(path: string): void {
  if (path === ':memory:' || path === '') return;
  ensurePrivateDir(dirname(path));
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  chmodSync(path, 0o600);
}

/** Creates a directory (and missing parents) with mode 0700; leaves an existing one as it is. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}
