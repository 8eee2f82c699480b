import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { isId } from '@slopeguard/core';
import { BrokerError } from '../errors.ts';
import { ensurePrivateFile } from '../files.ts';
import { generateSecret, hashSecret, verifySecret } from './secret.ts';

/**
 * Roles (docs/broker.md#accounts): a gateway publishes its own telemetry/status/event/cmd-ack; the
 * control center publishes commands and levels and reads everything; the recorder account is for a
 * recorder running outside the broker process (reads telemetry); an observer only reads.
 */
export const ROLES = ['gateway', 'control-center', 'recorder', 'observer'] as const;
export type Role = (typeof ROLES)[number];
export type ServiceRole = Exclude<Role, 'gateway'>;

export interface Account {
  username: string;
  role: Role;
  /** Set for gateways. */
  site?: string;
  gateway?: string;
  createdAt: number;
  revokedAt?: number;
}

/** The MQTT username of a gateway. `.` is outside the id alphabet, so it cannot be ambiguous. */
export function gatewayUsername(site: string, gateway: string): string {
  return `${site}.${gateway}`;
}

export type VerifyResult =
  | { ok: true; account: Account }
  | { ok: false; reason: 'unknown_account' | 'revoked' | 'bad_secret' };

export interface DeviceRegistry {
  /** Provisions a gateway and returns its generated secret (shown once; only a hash is stored). */
  addDevice(site: string, gateway: string, options?: { replace?: boolean }): string;
  /** Creates a service account; returns the password (generated unless given). */
  addAccount(username: string, options: { role: ServiceRole; password?: string; replace?: boolean }): string;
  get(username: string): Account | undefined;
  list(filter?: { role?: Role; site?: string; includeRevoked?: boolean }): Account[];
  /** Revokes an account; a running broker disconnects it at once (in-process) or within a second. */
  revoke(username: string): boolean;
  /** Checks a secret (slow hash, constant-time compare); says why it failed, for metrics and logs. */
  verify(username: string, secret: Buffer | string): Promise<VerifyResult>;
  /**
   * The cheap check only: the account if `secret` is the one this process already verified for it
   * (HMAC compare under an in-memory key, no scrypt), else undefined. For the address back-off.
   */
  verifyCached(username: string, secret: Buffer | string): Account | undefined;
  /**
   * Calls `listener` with the username whenever an account is revoked, or an active account's
   * secret is replaced, through this object: its connected sessions must end.
   */
  onRevoke(listener: (username: string) => void): () => void;
  /** True if another connection (e.g. the CLI in another process) changed the database since last call. */
  changedElsewhere(): boolean;
  readonly path: string;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS mqtt_accounts (
  username TEXT PRIMARY KEY,
  role TEXT NOT NULL,
  site TEXT,
  gateway TEXT,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
`;

/** One account as stored (the SQLite table's columns; the Redis registry stores the same fields). */
export interface AccountRow {
  username: string;
  role: string;
  site: string | null;
  gateway: string | null;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
}

function toAccount(row: AccountRow): Account {
  const a: Account = { username: row.username, role: row.role as Role, createdAt: row.created_at };
  if (row.site !== null) a.site = row.site;
  if (row.gateway !== null) a.gateway = row.gateway;
  if (row.revoked_at !== null) a.revokedAt = row.revoked_at;
  return a;
}

/**
 * Where a registry keeps its rows: the SQLite table (openDeviceRegistry) or a Redis hash shared by
 * the nodes of a cluster (redis-registry.ts). Reads are synchronous, so that CONNECT checks and the
 * revocation poll stay cheap; the Redis one answers them from a replica it keeps current.
 */
export interface RegistryBackend {
  readonly path: string;
  row(username: string): AccountRow | undefined;
  all(): AccountRow[];
  /** Inserts or replaces the row (not revoked). */
  upsert(row: Omit<AccountRow, 'revoked_at'>): void;
  /** Sets revoked_at if the account exists and is active; true if it did. */
  revoke(username: string, at: number): boolean;
  /** True if another process or node changed the rows since the last call. */
  changedElsewhere(): boolean;
  close(): void;
}

/**
 * The device and account registry, a table in the operational SQLite database (it may share the file
 * with the SQLite store). Opening it creates the file and table if needed.
 */
export function openDeviceRegistry(path: string): DeviceRegistry {
  ensurePrivateFile(path);
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec(SCHEMA);
  const selectOne = db.prepare('SELECT * FROM mqtt_accounts WHERE username = ?');
  const selectAll = db.prepare('SELECT * FROM mqtt_accounts ORDER BY username');
  const upsert = db.prepare(
    `INSERT INTO mqtt_accounts (username, role, site, gateway, secret_hash, created_at, revoked_at)
     VALUES (?, ?, ?, ?, ?, ?, NULL)
     ON CONFLICT (username) DO UPDATE SET role = excluded.role, site = excluded.site,
       gateway = excluded.gateway, secret_hash = excluded.secret_hash, created_at = excluded.created_at,
       revoked_at = NULL`,
  );
  const revokeStmt = db.prepare(
    'UPDATE mqtt_accounts SET revoked_at = ? WHERE username = ? AND revoked_at IS NULL',
  );
  const dataVersion = db.prepare('PRAGMA data_version');
  let lastVersion = (dataVersion.get() as { data_version: number }).data_version;
  return registryOver({
    path,
    row: (username) => selectOne.get(username) as AccountRow | undefined,
    all: () => selectAll.all() as unknown as AccountRow[],
    upsert: (r) => {
      upsert.run(r.username, r.role, r.site, r.gateway, r.secret_hash, r.created_at);
    },
    revoke: (username, at) => revokeStmt.run(at, username).changes > 0,
    changedElsewhere() {
      const v = (dataVersion.get() as { data_version: number }).data_version;
      if (v === lastVersion) return false;
      lastVersion = v;
      return true;
    },
    close: () => db.close(),
  });
}

/** The registry's rules (ids, roles, secrets, verification, revocation) over any backend. */
export function registryOver(backend: RegistryBackend): DeviceRegistry {
  const listeners = new Set<(username: string) => void>();
  // After one slow check succeeds, later CONNECTs with the same secret compare an HMAC under a key
  // that exists only in this process's memory: reconnect storms stay cheap, and nothing on disk is
  // weaker than scrypt. Entries are dropped when the account changes.
  const cacheKey = randomBytes(32);
  const verified = new Map<string, { hash: string; mac: Buffer }>();
  const mac = (secret: Buffer | string) => createHmac('sha256', cacheKey).update(secret).digest();

  const row = (username: string) => backend.row(username);

  function put(
    username: string,
    role: Role,
    site: string | null,
    gateway: string | null,
    secret: string,
    replace: boolean,
  ) {
    const existing = row(username);
    if (existing && existing.revoked_at === null && !replace) {
      throw new BrokerError(
        'SG_ERR_REGISTRY_EXISTS',
        `account ${username} exists (revoke it or pass replace)`,
      );
    }
    backend.upsert({
      username,
      role,
      site,
      gateway,
      secret_hash: hashSecret(secret),
      created_at: Date.now(),
    });
    verified.delete(username);
    // A new secret (rotation) ends the sessions opened with the old one, as a revocation does.
    if (existing && existing.revoked_at === null) for (const l of listeners) l(username);
    return secret;
  }

  return {
    path: backend.path,
    addDevice(site, gateway, options = {}) {
      if (!isId(site) || !isId(gateway)) {
        throw new BrokerError('SG_ERR_REGISTRY_INPUT', `invalid site or gateway id: ${site}/${gateway}`);
      }
      return put(
        gatewayUsername(site, gateway),
        'gateway',
        site,
        gateway,
        generateSecret(),
        options.replace ?? false,
      );
    },
    addAccount(username, options) {
      // Service account names use the id alphabet (no '.'), so they never look like a gateway's.
      if (!isId(username)) throw new BrokerError('SG_ERR_REGISTRY_INPUT', `invalid account name ${username}`);
      if (!(ROLES as readonly string[]).includes(options.role) || (options.role as string) === 'gateway') {
        throw new BrokerError('SG_ERR_REGISTRY_INPUT', `invalid role ${options.role} (gateways: addDevice)`);
      }
      if (options.password !== undefined && options.password.length < 12) {
        throw new BrokerError('SG_ERR_REGISTRY_INPUT', 'a password must have at least 12 characters');
      }
      return put(
        username,
        options.role,
        null,
        null,
        options.password ?? generateSecret(),
        options.replace ?? false,
      );
    },
    get(username) {
      const r = row(username);
      return r ? toAccount(r) : undefined;
    },
    list(filter = {}) {
      return backend
        .all()
        .map(toAccount)
        .filter(
          (a) =>
            (filter.includeRevoked || a.revokedAt === undefined) &&
            (filter.role === undefined || a.role === filter.role) &&
            (filter.site === undefined || a.site === filter.site),
        );
    },
    revoke(username) {
      const changed = backend.revoke(username, Date.now());
      verified.delete(username);
      if (changed) for (const l of listeners) l(username);
      return changed;
    },
    async verify(username, secret) {
      const r = row(username);
      if (!r || r.revoked_at !== null) {
        await verifySecret(secret, undefined); // same cost as a real check
        return { ok: false, reason: r ? 'revoked' : 'unknown_account' };
      }
      const cached = verified.get(username);
      if (cached && cached.hash === r.secret_hash && timingSafeEqual(cached.mac, mac(secret))) {
        return { ok: true, account: toAccount(r) };
      }
      if (!(await verifySecret(secret, r.secret_hash))) return { ok: false, reason: 'bad_secret' };
      // Re-read: the account may have been revoked or replaced while scrypt ran.
      const now = row(username);
      if (!now || now.revoked_at !== null) return { ok: false, reason: 'revoked' };
      if (now.secret_hash !== r.secret_hash) return { ok: false, reason: 'bad_secret' };
      verified.set(username, { hash: now.secret_hash, mac: mac(secret) });
      return { ok: true, account: toAccount(now) };
    },
    verifyCached(username, secret) {
      const cached = verified.get(username);
      if (!cached) return undefined;
      const r = row(username);
      if (!r || r.revoked_at !== null || r.secret_hash !== cached.hash) return undefined;
      return timingSafeEqual(cached.mac, mac(secret)) ? toAccount(r) : undefined;
    },
    onRevoke(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    changedElsewhere() {
      if (!backend.changedElsewhere()) return false;
      // Another process changed accounts: cached verifications may be stale.
      verified.clear();
      return true;
    },
    close() {
      listeners.clear();
      backend.close();
    },
  };
}
