import { randomUUID } from 'node:crypto';
import { contractMessage, systemTopic } from '@slopeguard/core';
import { childLogger } from '@slopeguard/core/log.ts';
import { Aedes, type Client } from 'aedes';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { createAedesFixes, memorySessionMarks } from './aedes-fixes.ts';
import type { DeviceRegistry } from './auth/registry.ts';
import { createBurstLog } from './burst-log.ts';
import { guardEmitterStack } from './emitter-stack.ts';
import { BrokerError } from './errors.ts';
import { clip, createHooks } from './hooks.ts';
import { DEFAULT_LIMITS, guardPacketSize, type Limits } from './limits.ts';
import {
  type Handle,
  type Listener,
  listenTcp,
  listenTls,
  listenWs,
  type PeerIdentity,
  type TcpListenerOptions,
  type TlsListenerOptions,
  type WsListenerOptions,
} from './listeners.ts';
import { type BrokerMetrics, createBrokerMetrics } from './metrics.ts';
import { createDurablePuback } from './persistence/durable-puback.ts';
import { createSqlitePersistence, type PersistenceOptions } from './persistence/index.ts';
import { createRedisEmitter, createRedisPersistence } from './persistence/redis.ts';
import { orderPublishes } from './publish-order.ts';
import { createRecorder, type Recorder, type RecorderOptions } from './recorder.ts';
import type { Store } from './store/types.ts';

export { REJECTED_TOPIC_PREFIX } from './hooks.ts';

export interface BrokerOptions {
  /** MQTT over TCP. Port 0 = a free port (read it back from `BrokerService.port`). */
  mqtt?: TcpListenerOptions;
  /** MQTT over TLS (`slopeguard certs` makes the files). */
  tls?: TlsListenerOptions;
  /** MQTT over WebSocket (path `/mqtt` unless given). */
  ws?: WsListenerOptions;
  store: Store;
  logger?: Logger;
  /** Registry to register the broker's metrics in (shared with the control center's /metrics). */
  metrics?: Registry;
  /** Accounts and devices (openDeviceRegistry). Required in production. */
  auth?: {
    registry: DeviceRegistry /** How often to look for revocations by other processes. */;
    pollMs?: number;
  };
  /**
   * TEST/DEMO ONLY: accept clients without credentials, with every permission. Off by default and
   * logged as a warning. Without it, a client without credentials (or any client, without `auth`) is refused.
   */
  allowAnonymous?: boolean;
  limits?: Partial<Limits>;
  /** Sessions and QoS queues: `memory` (default), on disk in a SQLite file, or in Redis. */
  persistence?: PersistenceOptions;
  /**
   * Run as one node of a cluster (docs/deployment.md#cluster): messages are routed between the
   * nodes through Redis pub/sub, and sessions, subscriptions, retained messages and QoS queues are
   * in that Redis (`persistence` must then be absent or `redis` on the same URL). The device
   * registry is shared separately (openRedisRegistry), as is the store (InfluxDB).
   */
  cluster?: { redis: string };
  /** Recorder tuning (group commit delay, batch size, concurrency, retry, spill file). */
  recorder?: Omit<RecorderOptions, 'store' | 'metrics' | 'logger'>;
  /**
   * How often the broker publishes its time on `slopeguard/v1/clock` (QoS 0, not retained), so that
   * gateways can check their clocks. Default 10 s; 0 = never.
   */
  clockIntervalMs?: number;
  /**
   * Prefix of the Aedes broker id (for $SYS topics and logs). A random suffix is always added:
   * queued messages are keyed by (broker id, counter) and the counter restarts at 0, so a
   * restarted broker with the very same id would overwrite what it queued before the restart.
   */
  id?: string;
}

export interface BrokerService {
  /** Port of the MQTT/TCP listener (0 if there is none). */
  readonly port: number;
  readonly tlsPort?: number;
  readonly wsPort?: number;
  readonly aedes: Aedes;
  readonly metrics: BrokerMetrics;
  readonly recorder: Recorder;
  /** Disconnects every client of an account now (the registry's revoke does this by itself). */
  disconnect(username: string): number;
  /** Stops accepting, flushes the recorder, closes listeners and clients. Does not close the store. */
  close(): Promise<void>;
}

export async function startBroker(options: BrokerOptions): Promise<BrokerService> {
  const log = childLogger(options.logger ?? pino({ name: 'slopeguard' }), { component: 'broker' });
  if (!options.mqtt && !options.tls && !options.ws) {
    throw new BrokerError('SG_ERR_BROKER_CONFIG', 'no listener configured (mqtt, tls or ws)');
  }
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const metrics = createBrokerMetrics(options.metrics ?? new Registry());
  const recorder = createRecorder({ ...options.recorder, store: options.store, metrics, logger: log });
  await recorder.start();
  const registry = options.auth?.registry;
  if (options.allowAnonymous) {
    log.warn(
      'ANONYMOUS ACCESS ENABLED: clients without credentials may connect, publish and subscribe (tests and demo only)',
    );
  } else if (!registry) {
    log.warn('no auth registry configured: every client will be refused');
  }
  const reportBurst = createBurstLog(log);
  const identities = new WeakMap<Client, PeerIdentity>();
  const hookSet = createHooks({
    identityOf: (client) => identities.get(client),
    log,
    metrics,
    recorder,
    limits,
    registry,
    allowAnonymous: options.allowAnonymous ?? false,
  });

  const persistenceOptions = sessionStore(options);
  // With sessions on disk or in Redis, a QoS 1 PUBACK waits until the message is queued for every
  // persistent session (persistence/durable-puback.ts); in memory there is nothing durable to wait for.
  const durablePuback = persistenceOptions.kind !== 'memory' ? createDurablePuback() : undefined;
  const stored =
    persistenceOptions.kind === 'sqlite'
      ? createSqlitePersistence(persistenceOptions.path)
      : persistenceOptions.kind === 'redis'
        ? createRedisPersistence(persistenceOptions.url)
        : undefined;
  const persistence = stored && durablePuback?.wrap(stored.persistence);
  // Aedes 1.2 protocol defects (DUP on redelivery, Session Present): aedes-fixes.ts.
  const fixes = createAedesFixes(stored?.marks ?? memorySessionMarks(), log);
  if (persistenceOptions.kind === 'sqlite')
    log.info({ path: persistenceOptions.path }, 'sessions persisted on disk');
  if (options.cluster) log.info('cluster node: sessions in Redis, messages routed through Redis');
  // One client's PUBLISHes go on in the order received [MQTT-4.6.0-6] (publish-order.ts); innermost.
  const ordered = orderPublishes(hookSet.hooks.authorizePublish);
  const aedes = await Aedes.createBroker({
    ...hookSet.hooks,
    authorizeSubscribe: fixes.authorizeSubscribe(hookSet.hooks.authorizeSubscribe),
    authorizePublish: durablePuback ? durablePuback.authorizePublish(ordered) : ordered,
    // Never a fixed id: see BrokerOptions.id.
    id: `${options.id ?? 'slopeguard'}-${randomUUID()}`,
    persistence,
    ...(options.cluster ? { mq: createRedisEmitter(options.cluster.redis) } : {}),
    maxTopicLevels: limits.maxTopicLevels,
    // Client ids are `{site}.{gateway}` (up to 127 characters), beyond MQTT 3.1's 23 [MQTT-3.1.3-5];
    // the hooks enforce limits.maxClientIdLength for every protocol version.
    maxClientsIdLength: limits.maxClientIdLength,
  });
  fixes.install(aedes);
  // Without it, a thousand clients disconnecting at once could overflow the stack (emitter-stack.ts).
  guardEmitterStack((aedes as unknown as { mq: unknown }).mq, log);
  aedes.on('client', () => {
    metrics.connections.inc();
    metrics.connectionsTotal.inc();
  });
  aedes.on('clientError', (client: Client, err: Error) => {
    // Aedes closes these connections itself, before any hook runs; count them here.
    if (/too many levels/.test(err.message)) {
      metrics.rejected.inc({ reason: 'depth' });
      // One line per burst: each of these is a new connection an attacker can repeat at will.
      reportBurst('depth', { clientId: clip(client.id) }, 'topic deeper than the limit; connection closed');
    }
  });
  aedes.on('clientDisconnect', (client: Client) => {
    metrics.connections.dec();
    hookSet.forget(client);
  });

  const handle: Handle = (stream, req, identity) => {
    const client = aedes.handle(stream, req);
    if (identity) identities.set(client, identity);
    guardPacketSize(client, limits.maxPacketBytes, (length) => {
      metrics.rejected.inc({ reason: 'size' });
      reportBurst('size', { length, max: limits.maxPacketBytes }, 'packet too large; closing the connection');
    });
  };

  function disconnect(username: string): number {
    const clients = hookSet.clientsOf(username);
    for (const c of clients) c.close();
    if (clients.length > 0)
      log.info({ username, clients: clients.length }, 'disconnected revoked or replaced account');
    return clients.length;
  }
  const unsubscribeRevoke = registry?.onRevoke(disconnect);
  // Revocations by another process (the CLI) show up as a change of the database file.
  const poll = registry
    ? setInterval(() => {
        if (!registry.changedElsewhere()) return;
        for (const [client, account] of [...hookSet.connected()]) {
          const now = registry.get(account.username);
          // Revoked, or replaced (`device add --replace`: a new secret, a new createdAt).
          if (!now || now.revokedAt !== undefined || now.createdAt !== account.createdAt) {
            client.close();
            log.info({ username: account.username }, 'disconnected revoked or replaced account');
          }
        }
      }, options.auth?.pollMs ?? 1000)
    : undefined;
  poll?.unref();

  // The broker's time for gateways without RTC or NTP. QoS 0 and not retained: only a fresh time
  // is worth having, and a stale retained one would mislead.
  const clockTopic = systemTopic('clock');
  const clockMs = options.clockIntervalMs ?? 10_000;
  const clock =
    clockMs > 0
      ? setInterval(() => {
          const m = contractMessage(clockTopic, { ts: Date.now() });
          aedes.publish({ cmd: 'publish', ...m, payload: Buffer.from(m.payload), dup: false }, () => {});
        }, clockMs)
      : undefined;
  clock?.unref();

  const listeners: Listener[] = [];
  try {
    if (options.mqtt) listeners.push(await listenTcp(options.mqtt, handle));
    if (options.tls) listeners.push(await listenTls(options.tls, handle));
    // An MQTT packet is the remaining length plus a fixed header of at most 5 bytes.
    if (options.ws) listeners.push(await listenWs(options.ws, handle, limits.maxPacketBytes + 5));
  } catch (err) {
    if (clock) clearInterval(clock);
    for (const l of listeners) await l.close();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  for (const l of listeners) log.info({ kind: l.kind, port: l.port }, 'listener ready');
  const portOf = (kind: Listener['kind']) => listeners.find((l) => l.kind === kind)?.port;

  let closed: Promise<void> | undefined;
  return {
    port: portOf('mqtt') ?? 0,
    tlsPort: portOf('mqtts'),
    wsPort: portOf('ws'),
    aedes,
    metrics,
    recorder,
    disconnect,
    close() {
      closed ??= (async () => {
        if (poll) clearInterval(poll);
        if (clock) clearInterval(clock);
        unsubscribeRevoke?.();
        for (const l of listeners) l.stopAccepting();
        // Readings already accepted are written (and their PUBACKs sent) before clients go.
        await recorder.close();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await Promise.all(listeners.map((l) => l.close()));
        await persistence?.destroy();
        log.info('broker closed');
      })();
      return closed;
    },
  };
}

/** The session store: BrokerOptions.cluster implies Redis; anything else contradicting it is an error. */
function sessionStore(options: BrokerOptions): PersistenceOptions {
  const p = options.persistence ?? { kind: 'memory' };
  if (!options.cluster) return p;
  if (options.persistence && !(p.kind === 'redis' && p.url === options.cluster.redis)) {
    throw new BrokerError(
      'SG_ERR_BROKER_CONFIG',
      "a cluster node keeps its sessions in the cluster's Redis (persistence must be absent or the same redis)",
    );
  }
  return { kind: 'redis', url: options.cluster.redis };
}
