import type { DatabaseSync } from 'node:sqlite';
import { newSecret, secretHash } from './passwords.ts';

export const TOKEN_SCOPES = ['read', 'open-data', 'operator'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export interface ApiToken {
  id: number;
  name: string;
  scope: TokenScope;
  createdBy: string;
  created: number;
  revoked: number | null;
}

/** API tokens for machines: shown once at creation, stored as SHA-256, revocable. */
export interface ApiTokenStore {
  create(name: string, scope: TokenScope, createdBy: string): { token: string; info: ApiToken };
  list(): ApiToken[];
  revoke(id: number): ApiToken | undefined;
  verify(token: string): ApiToken | undefined;
}

type Row = {
  id: number;
  name: string;
  scope: TokenScope;
  created_by: string;
  created: number;
  revoked: number | null;
};
const toToken = (r: Row): ApiToken => ({
  id: r.id,
  name: r.name,
  scope: r.scope,
  createdBy: r.created_by,
  created: r.created,
  revoked: r.revoked,
});

/** Prefix so a leaked token is recognisable (secret scanners, logs). */
const PREFIX = 'sgt_';

export function sqliteTokenStore(db: DatabaseSync, now: () => number = Date.now): ApiTokenStore {
  const byHash = db.prepare('SELECT * FROM api_tokens WHERE token_hash = ? AND revoked IS NULL');
  return {
    create(name, scope, createdBy) {
      const token = `${PREFIX}${newSecret()}`;
      const r = db
        .prepare(
          'INSERT INTO api_tokens (name, scope, token_hash, created_by, created) VALUES (?, ?, ?, ?, ?) RETURNING *',
        )
        .get(name.slice(0, 64), scope, secretHash(token), createdBy, now()) as Row;
      return { token, info: toToken(r) };
    },
    list: () => (db.prepare('SELECT * FROM api_tokens ORDER BY id').all() as Row[]).map(toToken),
    revoke(id) {
      const r = db
        .prepare('UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked IS NULL RETURNING *')
        .get(now(), id) as Row | undefined;
      return r ? toToken(r) : undefined;
    },
    verify(token) {
      if (!token.startsWith(PREFIX) || token.length > 100) return undefined;
      const r = byHash.get(secretHash(token)) as Row | undefined;
      return r ? toToken(r) : undefined;
    },
  };
}
