import { parseTopic } from '@slopeguard/core';
import type { AedesOptions, AuthenticateError, Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { clientIdAllowed, mayPublish, maySubscribe } from './auth/acl.ts';
import type { Account, DeviceRegistry } from './auth/registry.ts';
import { createBurstLog } from './burst-log.ts';
import { BucketMap, type Limits, TokenBucket } from './limits.ts';
import type { BrokerMetrics } from './metrics.ts';
import type { Recorder } from './recorder.ts';
import type { StoredReading } from './store/types.ts';
import { checkPublish, type RejectReason } from './validate-publish.ts';

/** Quarantine topic prefix: `$` topics never match `#` or `+` subscriptions [MQTT-4.7.2-1]. */
export const REJECTED_TOPIC_PREFIX = '$SG/rejected/';

// CONNACK return codes, MQTT 3.1.1 table 3.1.
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

export interface HookContext {
  log: Logger;
  metrics: BrokerMetrics;
  recorder: Recorder;
  limits: Limits;
  registry?: DeviceRegistry;
  allowAnonymous: boolean;
  now?: () => number;
}

export type Hooks = Required<
  Pick<AedesOptions, 'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'authorizeForward'>
>;

export interface HookSet {
  hooks: Hooks;
  /** Called on Aedes 'clientDisconnect'. */
  forget(client: Client): void;
  /** Connected clients of an account (for revocation). */
  clientsOf(username: string): Client[];
  /** Every connected client with an account. */
  connected(): IterableIterator<[Client, Account]>;
}

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

type WillCarrier = { _will?: { topic: string; payload: Buffer } | null };

/** The peer address of a client: TCP/TLS socket, or the HTTP request of a WebSocket. */
function remoteAddress(client: Client): string {
  const c = client as unknown as {
    conn?: { remoteAddress?: string };
    req?: { socket?: { remoteAddress?: string } };
  };
  return c.conn?.remoteAddress ?? c.req?.socket?.remoteAddress ?? 'unknown';
}

export function createHooks(ctx: HookContext): HookSet {
  const { log, metrics, recorder, limits, registry } = ctx;
  const now = ctx.now ?? Date.now;
  const reportBurst = createBurstLog(log, 10_000, now);
  /** null = anonymous (test mode, every permission). */
  const accounts = new WeakMap<Client, Account | null>();
  const byUsername = new Map<string, Set<Client>>();
  const connectBuckets = new BucketMap(
    () => new TokenBucket(limits.connectsPerMinute / 60, limits.connectBurst, now),
    120_000,
    now,
  );
  const messageBuckets = new BucketMap(
    () => new TokenBucket(limits.messagesPerSecond, limits.messageBurst, now),
    60_000,
    now,
  );
  const lastSeq = new Map<string, number>();
  const failedAuthBuckets = new BucketMap(
    () => new TokenBucket(limits.failedAuthPerMinutePerAddress / 60, limits.failedAuthBurst, now),
    120_000,
    now,
  );

  function refuse(
    client: Client,
    reason: string,
    code: number,
    username: string | undefined,
    done: (e: AuthenticateError, ok: false) => void,
  ) {
    metrics.refusedConnections.inc({ reason });
    // The username is not a secret; the password is never logged.
    reportBurst(
      `connect|${reason}|${username ?? ''}`,
      { clientId: client.id, username, reason },
      'connection refused',
    );
    done(authError(`connection refused: ${reason}`, code), false);
  }

  function reject(
    client: Client,
    account: Account | null | undefined,
    topic: string,
    reason: RejectReason,
    errors: string[],
  ) {
    metrics.rejected.inc({ reason });
    if (account?.site !== undefined && account.gateway !== undefined) {
      metrics.rejectedByGateway.inc({ site: account.site, gateway: account.gateway, reason });
    }
    reportBurst(
      `${client.id}|${reason}`,
      { clientId: client.id, username: account?.username, topic: topic.slice(0, 300), reason, errors },
      'publish refused',
    );
  }

  /**
   * Acknowledge but do not forward: a refused QoS 1 PUBLISH that closed the connection would be
   * redelivered by the client on every reconnect [MQTT-4.4.0-1] and block its queue; [MQTT-3.3.5-2]
   * allows a positive acknowledgement instead. The packet is renamed into the quarantine topic
   * with a small description as payload; authorizeForward lets it reach only explicit `$SG/` subscribers.
   */
  function quarantine(packet: PublishPacket, reason: RejectReason): void {
    const original = packet.topic;
    packet.topic = `${REJECTED_TOPIC_PREFIX}${reason}`;
    packet.retain = false;
    packet.payload = Buffer.from(JSON.stringify({ topic: original.slice(0, 300), reason }));
  }

  function noteTelemetry(site: string, gateway: string, seq: number): void {
    metrics.gatewayLastSeen.set({ site, gateway }, now() / 1000);
    const key = `${site}/${gateway}`;
    const prev = lastSeq.get(key);
    if (prev !== undefined && seq > prev + 1) metrics.seqGaps.inc({ site, gateway }, seq - prev - 1);
    // A lower seq is a redelivery or a gateway restart; only forward progress is a gap reference.
    if (prev === undefined || seq > prev) lastSeq.set(key, seq);
  }

  function accept(client: Client, account: Account | null): void {
    accounts.set(client, account);
    if (!account) return;
    const set = byUsername.get(account.username) ?? new Set<Client>();
    byUsername.set(account.username, set);
    set.add(client);
  }

  function validateAndRecord(
    client: Client,
    account: Account | null,
    packet: PublishPacket,
    receivedAt: number,
    done: (err?: Error | null) => void,
  ) {
    const verdict = checkPublish(packet.topic, packet.payload);
    if (!verdict.ok) {
      reject(client, account, packet.topic, verdict.reason, verdict.errors);
      quarantine(packet, verdict.reason);
      return done(null);
    }
    metrics.messagesIn.inc({ channel: verdict.channel });
    if (verdict.telemetry === undefined || verdict.site === undefined || verdict.gateway === undefined)
      return done(null);
    const { site, gateway } = verdict;
    const readings: StoredReading[] = verdict.telemetry.readings.map((r) => ({ ...r, site, gateway }));
    metrics.readingsReceived.inc(readings.length);
    noteTelemetry(site, gateway, verdict.telemetry.seq);
    // Aedes writes the PUBACK right after this callback (lib/handlers/publish.js, QoS 1): holding
    // the callback until the recorder reports durability makes PUBACK mean "stored".
    recorder.submit(readings, receivedAt).then(() => done(null));
  }

  const hooks: Hooks = {
    authenticate(client, username, password, done) {
      if (!registry || username === undefined || password === undefined) {
        if (ctx.allowAnonymous) {
          accept(client, null);
          return done(null, true);
        }
        return refuse(client, registry ? 'anonymous' : 'no_auth_configured', NOT_AUTHORIZED, username, done);
      }
      if (!connectBuckets.get(username).tryTake()) {
        return refuse(client, 'rate', SERVER_UNAVAILABLE, username, done);
      }
      if (!clientIdAllowed(username, client.id, (id) => registry.get(id) !== undefined)) {
        return refuse(client, 'client_id', IDENTIFIER_REJECTED, username, done);
      }
      const address = remoteAddress(client);
      if (!failedAuthBuckets.get(address).available()) {
        return refuse(client, 'address_backoff', SERVER_UNAVAILABLE, username, done);
      }
      registry.verify(username, password).then(
        (result) => {
          if (!result.ok) {
            failedAuthBuckets.get(address).tryTake();
            return refuse(client, result.reason, BAD_USERNAME_OR_PASSWORD, username, done);
          }
          // A will is published later in the client's name: check it now, against the same ACL.
          const will = (client as unknown as WillCarrier)._will;
          if (will && !mayPublish(result.account, will.topic)) {
            return refuse(client, 'will_acl', NOT_AUTHORIZED, username, done);
          }
          accept(client, result.account);
          done(null, true);
        },
        (err: unknown) => {
          log.error({ err, username }, 'registry lookup failed');
          refuse(client, 'registry_error', SERVER_UNAVAILABLE, username, done);
        },
      );
    },

    authorizePublish(client, packet, done) {
      // Publishes by the broker itself: $SYS heartbeats, and wills of clients of a previous run,
      // which were checked when those clients connected.
      if (!client) return done(null);
      const receivedAt = performance.now();
      const account = accounts.get(client);
      if (account === undefined) return done(new Error('publish from an unauthenticated client'));
      if (account && !mayPublish(account, packet.topic)) {
        const reason: RejectReason = parseTopic(packet.topic) ? 'acl' : 'topic';
        reject(client, account, packet.topic, reason, [
          `${account.role} ${account.username} may not publish here`,
        ]);
        quarantine(packet, reason);
        return done(null);
      }
      if (!account) return validateAndRecord(client, account, packet, receivedAt, done);
      const bucket = messageBuckets.get(account.username);
      const wait = bucket.reserve();
      if (wait === 0) return validateAndRecord(client, account, packet, receivedAt, done);
      if (wait > limits.maxThrottleMs) {
        bucket.refund(); // a refused message must not push the account's next ones further back
        reject(client, account, packet.topic, 'rate', [`over ${limits.messagesPerSecond} msg/s`]);
        // Closing (not acknowledging) keeps the message with the client, which resends it later.
        return done(new Error('message rate exceeded'));
      }
      // Over the rate but within bounds: hold the PUBLISH (and so the client's TCP stream).
      setTimeout(() => validateAndRecord(client, account, packet, receivedAt, done), wait);
    },

    authorizeSubscribe(client, sub, done) {
      const account = accounts.get(client);
      if (account === null) return done(null, sub);
      if (account && maySubscribe(account, sub.topic)) return done(null, sub);
      metrics.rejected.inc({ reason: 'acl' });
      if (account?.site !== undefined && account.gateway !== undefined) {
        metrics.rejectedByGateway.inc({ site: account.site, gateway: account.gateway, reason: 'acl' });
      }
      reportBurst(
        `${client.id}|subscribe`,
        { clientId: client.id, username: account?.username, filter: sub.topic.slice(0, 300) },
        'subscription refused',
      );
      // A null subscription makes Aedes answer 0x80 (failure) in the SUBACK [MQTT-3.9.3-1].
      done(null, null);
    },

    authorizeForward(client, packet) {
      if (packet.topic.startsWith(REJECTED_TOPIC_PREFIX)) {
        // Offline queues of persistent sessions do not apply the `$` rule (Aedes enqueueOffline
        // filters only $SYS/), so quarantined packets go only to explicit `$SG/` subscribers.
        // `subscriptions` is an Aedes Client field missing from its type declarations.
        const subs = (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions;
        if (!Object.keys(subs).some((t) => t.startsWith('$SG/'))) return null;
      }
      metrics.messagesOut.inc();
      return packet;
    },
  };

  return {
    hooks,
    forget(client) {
      const account = accounts.get(client);
      if (!account) return;
      const set = byUsername.get(account.username);
      set?.delete(client);
      if (set?.size === 0) byUsername.delete(account.username);
    },
    clientsOf(username) {
      return [...(byUsername.get(username) ?? [])];
    },
    *connected() {
      for (const set of byUsername.values()) {
        for (const c of set) {
          const a = accounts.get(c);
          if (a) yield [c, a];
        }
      }
    },
  };
}
