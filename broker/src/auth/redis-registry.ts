import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BrokerError } from '../errors.ts';
import { type AccountRow, type DeviceRegistry, type RegistryBackend, registryOver } from './registry.ts';

export interface RedisRegistryOptions {
  /** redis://[user:password@]host:port/db */
  url: string;
  /** Key and channel prefix (default `sg:`), so that several installations can share a Redis. */
  prefix?: string;
  logger?: Logger;
}

/** What goes over the change channel: a changed row (null: deleted), or a sync() marker. */
interface Announcement {
  from: string;
  username?: string;
  row?: Omit<AccountRow, 'username'> | null;
  marker?: string;
}

export interface RedisDeviceRegistry extends DeviceRegistry {
  /**
   * Resolves when every change that reached Redis before this call has been applied to this
   * handle's replica (a marker sent through the change channel came back).
   */
  sync(): Promise<void>;
  /**
   * Resolves when every change made through this object is in Redis (and announced to the other
   * nodes); rejects with SG_ERR_REGISTRY_WRITE if one of them failed. The CLI and tests await it
   * before they report success or exit.
   */
  flush(): Promise<void>;
}

/**
 * The device registry of a cluster: the same rules as the SQLite one (registryOver), with the rows
 * in one Redis hash (`<prefix>registry:accounts`, username -> JSON row) shared by every broker node.
 *
 * Reads stay synchronous (the DeviceRegistry interface, used in every CONNECT): each node keeps a
 * replica of the hash, loaded at open and kept current by a pub/sub channel
 * (`<prefix>registry:changed`) on which every write announces the username it changed. A change by
 * another node makes `changedElsewhere()` true, and the broker's revocation poll then closes the
 * sessions of revoked or replaced accounts on this node too (docs/deployment.md#cluster).
 *
 * Writes go to the local replica at once and to Redis in a MULTI (HSET + PUBLISH) in call order;
 * concurrent writes of one account on two nodes: the last to reach Redis wins. A revocation is
 * applied in Redis by a script that only sets revoked_at on an active account, so that a revoke
 * never resurrects an older row.
 */
export async function openRedisRegistry(options: RedisRegistryOptions): Promise<RedisDeviceRegistry> {
  const prefix = options.prefix ?? 'sg:';
  const hashKey = `${prefix}registry:accounts`;
  const channel = `${prefix}registry:changed`;
  const self = randomUUID();
  // Commands fail at once while Redis is unreachable instead of queueing without bound.
  const redisOptions = { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true };
  const db = new Redis(options.url, redisOptions);
  const sub = new Redis(options.url, redisOptions);
  const onError = (err: Error) =>
    options.logger?.warn({ err: err.message }, 'registry: redis connection error');
  db.on('error', onError);
  sub.on('error', onError);
  try {
    await db.connect();
    await sub.connect();
  } catch (err) {
    // Stop ioredis's reconnect timers, or a process that cannot start would never exit.
    db.disconnect();
    sub.disconnect();
    throw new BrokerError(
      'SG_ERR_REGISTRY_UNAVAILABLE',
      `cannot reach the registry's Redis: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }

  const rows = new Map<string, AccountRow>();
  let changed = false;
  const parse = (username: string, json: string | null): AccountRow | undefined => {
    if (json === null) return undefined;
    const r = JSON.parse(json) as Omit<AccountRow, 'username'>;
    return { username, ...r };
  };
  const encode = (r: AccountRow) => {
    const { username: _, ...rest } = r;
    return JSON.stringify(rest);
  };

  // Every change is announced with the row itself, so that a replica applies it as it arrives, in
  // the order Redis executed the writes (one channel, one connection). Subscribe before loading: a
  // change announced in between is applied again after the load, which is harmless.
  const markers = new Map<string, () => void>();
  sub.on('message', (_channel: string, message: string) => {
    let m: Announcement;
    try {
      m = JSON.parse(message) as Announcement;
    } catch {
      return;
    }
    if (m.marker !== undefined) {
      if (m.from === self) markers.get(m.marker)?.();
      return;
    }
    if (m.from === self || typeof m.username !== 'string') return;
    if (m.row) rows.set(m.username, { ...m.row, username: m.username });
    else rows.delete(m.username);
    changed = true;
  });
  await sub.subscribe(channel);
  const all = await db.hgetall(hashKey);
  for (const [username, json] of Object.entries(all)) {
    const r = parse(username, json);
    if (r) rows.set(username, r);
  }

  db.defineCommand('sgRevoke', {
    numberOfKeys: 1,
    lua: `local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local r = cjson.decode(v)
if r.revoked_at ~= nil and r.revoked_at ~= cjson.null then return 0 end
r.revoked_at = tonumber(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(r))
redis.call('PUBLISH', ARGV[3], cjson.encode({ from = ARGV[4], username = ARGV[1], row = r }))
return 1`,
  });
  const revokeScript = db as unknown as {
    sgRevoke(key: string, username: string, at: number, channel: string, from: string): Promise<number>;
  };

  let writes: Promise<unknown> = Promise.resolve();
  let failure: Error | undefined;
  const write = (op: () => Promise<unknown>) => {
    writes = writes.then(op).catch((err: Error) => {
      failure ??= err;
      onError(err);
    });
  };

  const backend: RegistryBackend = {
    path: `${options.url.replace(/\/\/[^@/]*@/, '//')}#${hashKey}`,
    row: (username) => rows.get(username),
    all: () => [...rows.values()].sort((a, b) => (a.username < b.username ? -1 : 1)),
    upsert(r) {
      const row: AccountRow = { ...r, revoked_at: null };
      rows.set(r.username, row);
      const json = encode(row);
      const note = `{"from":${JSON.stringify(self)},"username":${JSON.stringify(r.username)},"row":${json}}`;
      write(() => db.multi().hset(hashKey, r.username, json).publish(channel, note).exec());
    },
    revoke(username, at) {
      const r = rows.get(username);
      if (!r || r.revoked_at !== null) return false;
      rows.set(username, { ...r, revoked_at: at });
      write(() => revokeScript.sgRevoke(hashKey, username, at, channel, self));
      return true;
    },
    changedElsewhere() {
      const c = changed;
      changed = false;
      return c;
    },
    close() {
      // Pending writes first: a revoke issued just before close must still reach the other nodes.
      void writes.finally(() => {
        db.disconnect();
        sub.disconnect();
      });
    },
  };
  const registry = registryOver(backend);
  return Object.assign(registry, {
    async sync() {
      const marker = randomUUID();
      const seen = new Promise<void>((resolve) => markers.set(marker, resolve));
      await db.publish(channel, JSON.stringify({ from: self, marker }));
      await seen;
      markers.delete(marker);
    },
    async flush() {
      await writes;
      if (failure) {
        const err = failure;
        failure = undefined;
        throw new BrokerError(
          'SG_ERR_REGISTRY_WRITE',
          `registry change not written to Redis: ${err.message}`,
          {
            cause: err,
          },
        );
      }
    },
  });
}
