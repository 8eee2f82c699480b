import type { DatabaseSync } from 'node:sqlite';
import { newSecret, secretHash } from './passwords.ts';

export interface Session {
  userId: number;
  csrf: string;
  expires: number;
}

/** Signed-in sessions. The cookie carries a random id; the database keeps only its SHA-256. */
export interface SessionStore {
  create(userId: number, address: string): { token: string; csrf: string; expires: number };
  get(token: string): Session | undefined;
  delete(token: string): void;
}

export function sqliteSessionStore(
  db: DatabaseSync,
  ttlMs: number,
  now: () => number = Date.now,
): SessionStore {
  const get = db.prepare('SELECT user_id, csrf, expires FROM sessions WHERE token_hash = ?');
  return {
    create(userId, address) {
      const token = newSecret();
      const csrf = newSecret();
      const t = now();
      const expires = t + ttlMs;
      db.prepare('DELETE FROM sessions WHERE expires <= ?').run(t);
      db.prepare(
        'INSERT INTO sessions (token_hash, user_id, csrf, created, expires, address) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(secretHash(token), userId, csrf, t, expires, address.slice(0, 64));
      return { token, csrf, expires };
    },
    get(token) {
      if (token.length > 100) return undefined;
      const r = get.get(secretHash(token)) as { user_id: number; csrf: string; expires: number } | undefined;
      if (!r || r.expires <= now()) return undefined;
      return { userId: r.user_id, csrf: r.csrf, expires: r.expires };
    },
    delete(token) {
      db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(secretHash(token));
    },
  };
}
