import type { DatabaseSync } from 'node:sqlite';
import { DUMMY_HASH_PROMISE, hashPassword, passwordProblem, verifyPassword } from './passwords.ts';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface User {
  id: number;
  username: string;
  role: Role;
  disabled: boolean;
  created: number;
}

export class UserError extends Error {
  readonly code: 'SG_ERR_USER_EXISTS' | 'SG_ERR_NO_USER' | 'SG_ERR_PASSWORD' | 'SG_ERR_USERNAME';
  constructor(code: UserError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** Operators' accounts. Narrow on purpose: a server database can implement the same interface. */
export interface UserStore {
  add(username: string, role: Role, password: string): Promise<User>;
  list(): User[];
  get(username: string): User | undefined;
  byId(id: number): User | undefined;
  /** Disables or enables the account; a change of state ends its sessions (see the implementation). */
  setDisabled(username: string, disabled: boolean): User;
  setPassword(username: string, password: string): Promise<void>;
  /** The user when the password is right and the account enabled; as slow for unknown names. */
  verify(username: string, password: string): Promise<User | undefined>;
}

const USERNAME = /^[a-z][a-z0-9._-]{1,31}$/;

type Row = { id: number; username: string; role: Role; disabled: number; created: number; hash: string };
const toUser = (r: Row): User => ({
  id: r.id,
  username: r.username,
  role: r.role,
  disabled: r.disabled === 1,
  created: r.created,
});

export function sqliteUserStore(db: DatabaseSync, now: () => number = Date.now): UserStore {
  const byName = db.prepare('SELECT * FROM users WHERE username = ?');
  const byId = db.prepare('SELECT * FROM users WHERE id = ?');
  const row = (username: string) => byName.get(username) as Row | undefined;
  const must = (username: string) => {
    const r = row(username);
    if (!r) throw new UserError('SG_ERR_NO_USER', `no user ${username}`);
    return r;
  };
  const checkPassword = (password: string) => {
    const p = passwordProblem(password);
    if (p) throw new UserError('SG_ERR_PASSWORD', `password: ${p}`);
  };
  return {
    async add(username, role, password) {
      if (!USERNAME.test(username))
        throw new UserError('SG_ERR_USERNAME', 'username: 2-32 of a-z 0-9 . _ -, starting with a letter');
      checkPassword(password);
      if (row(username)) throw new UserError('SG_ERR_USER_EXISTS', `user ${username} exists`);
      const hash = await hashPassword(password);
      const t = now();
      db.prepare('INSERT INTO users (username, role, hash, created, updated) VALUES (?, ?, ?, ?, ?)').run(
        username,
        role,
        hash,
        t,
        t,
      );
      return toUser(must(username));
    },
    list: () => (db.prepare('SELECT * FROM users ORDER BY username').all() as Row[]).map(toUser),
    get: (username) => {
      const r = row(username);
      return r ? toUser(r) : undefined;
    },
    byId: (id) => {
      const r = byId.get(id) as Row | undefined;
      return r ? toUser(r) : undefined;
    },
    setDisabled(username, disabled) {
      const before = must(username);
      db.prepare('UPDATE users SET disabled = ?, updated = ? WHERE username = ?').run(
        disabled ? 1 : 0,
        now(),
        username,
      );
      // Disabling ends the account's sessions, and so does enabling a disabled account: a sign-in
      // whose password check (scrypt, asynchronous) passed just before the disable can still have
      // stored a session after it; refused while disabled, it must not come back to life now.
      // An enabled user signs in anew. Enabling an enabled account changes nothing. API tokens
      // are not the user's (they name their creator only): neither revoked nor restored here.
      if (disabled || before.disabled === 1)
        db.prepare('DELETE FROM sessions WHERE user_id = ?').run(before.id);
      return toUser(must(username));
    },
    async setPassword(username, password) {
      const r = must(username);
      checkPassword(password);
      const hash = await hashPassword(password);
      db.prepare('UPDATE users SET hash = ?, updated = ? WHERE id = ?').run(hash, now(), r.id);
      // A new password ends every open session of the account.
      db.prepare('DELETE FROM sessions WHERE user_id = ?').run(r.id);
    },
    async verify(username, password) {
      const r = row(username);
      const ok = await verifyPassword(password, r?.hash ?? (await DUMMY_HASH_PROMISE));
      return r && ok && r.disabled === 0 ? toUser(r) : undefined;
    },
  };
}
