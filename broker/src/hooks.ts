import { CHANNEL_OPTIONS, isAhead, parseTopic, type Reading } from '@slopeguard/core';
import type { AedesOptions, AuthenticateError, Client, PublishPacket } from 'aedes';
import type { Logger } from 'pino';
import { clientIdAllowed, mayPublish, maySubscribe } from './auth/acl.ts';
import type { Account, DeviceRegistry } from './auth/registry.ts';
import { createBurstLog } from './burst-log.ts';
import { BucketMap, type Limits, TokenBucket } from './limits.ts';
import type { PeerIdentity } from './listeners.ts';
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
  /** What the transport proved about a client (the TLS client certificate's subject). */
  identityOf?: (client: Client) => PeerIdentity | undefined;
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

/** Longest peer-controlled string (username, client id, topic) written to a log line. */
export const LOG_STRING_MAX = 128;

/** Clips a peer-controlled string for a log line, saying how long it really was. */
export function clip(s: string | undefined): string | undefined {
  if (s === undefined || s.length <= LOG_STRING_MAX) return s;
  return `${s.slice(0, LOG_STRING_MAX)}...(${s.length} chars)`;
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
  const readingBuckets = new BucketMap(
    () => new TokenBucket(limits.readingsPerSecond, limits.readingBurst, now),
    60_000,
    now,
  );
  /** Sensor ids seen per `site/gateway` since start, bounded by limits.maxSensorsPerGateway. */
  const knownSensors = new Map<string, Set<string>>();
  /**
   * Per `site/gateway`: the highest seq, and what its two gauges were last set to. A labelled
   * prom-client set hashes its labels on every call, which profiled at ~7 % of the hook's CPU per
   * message; the gauges are set when their value changes (last seen: at most once a second).
   */
  const gateways = new Map<string, { seq?: number; seenAt: number; aheadMs?: number }>();
  function gatewayState(key: string): { seq?: number; seenAt: number; aheadMs?: number } {
    let state = gateways.get(key);
    if (!state) {
      state = { seenAt: Number.NEGATIVE_INFINITY };
      gateways.set(key, state);
    }
    return state;
  }
  const failedAuthBuckets = new BucketMap(
    () => new TokenBucket(limits.failedAuthPerMinutePerAddress / 60, limits.failedAuthBurst, now),
    120_000,
    now,
  );
  const backoffChecks = new BucketMap(
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
    // The username is not a secret; the password is never logged. Both strings come from the
    // peer: clipped, and the burst key uses the clipped form so that long variants share a key.
    const user = clip(username);
    reportBurst(
      `connect|${reason}|${user ?? ''}`,
      { clientId: clip(client.id), username: user, reason },
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
      `${clip(client.id)}|${reason}`,
      {
        clientId: clip(client.id),
        username: account?.username,
        topic: clip(topic),
        reason,
        // Schema errors quote the peer's keys and values: at most ten, each clipped.
        errors: errors.slice(0, 10).map((e) => clip(e)),
      },
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

  /** After a verified secret: client id binding, will ACL, then the account's connect budget. */
  function admit(
    client: Client,
    account: Account,
    username: string,
    done: (e: AuthenticateError | null, ok: boolean) => void,
  ) {
    if (!clientIdAllowed(username, client.id, (id) => registry?.get(id) !== undefined)) {
      return refuse(client, 'client_id', IDENTIFIER_REJECTED, username, done);
    }
    // With client certificates required, the certificate names the account: gateway A's
    // certificate with gateway B's secret is refused. Checked after the secret, like the client id.
    const certSubject = ctx.identityOf?.(client)?.certSubject;
    if (certSubject !== undefined && certSubject !== username) {
      return refuse(client, 'cert_subject', NOT_AUTHORIZED, username, done);
    }
    // A will is published later in the client's name: check it now, against the same ACL.
    const will = (client as unknown as WillCarrier)._will;
    if (will && !mayPublish(account, will.topic)) {
      return refuse(client, 'will_acl', NOT_AUTHORIZED, username, done);
    }
    // Only a successful authentication spends the account's connect budget: CONNECTs that carry
    // just the username cannot lock the owner out.
    if (!connectBuckets.get(username).tryTake()) {
      return refuse(client, 'rate', SERVER_UNAVAILABLE, username, done);
    }
    accept(client, account);
    done(null, true);
  }

  function noteTelemetry(site: string, gateway: string, seq: number): void {
    const state = gatewayState(`${site}/${gateway}`);
    const t = now();
    if (t - state.seenAt >= 1000) {
      state.seenAt = t;
      metrics.gatewayLastSeen.set({ site, gateway }, t / 1000);
    }
    const prev = state.seq;
    if (prev !== undefined && seq > prev + 1) metrics.seqGaps.inc({ site, gateway }, seq - prev - 1);
    // A lower seq is a redelivery or a gateway restart; only forward progress is a gap reference.
    if (prev === undefined || seq > prev) state.seq = seq;
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
    if (packet.retain) {
      const channel = parseTopic(packet.topic)?.channel;
      // Retained only where the contract's table says (status, level, notice); the ACL has made
      // sure these come from their owner (status: its gateway; level, notice: the control center).
      if (channel !== undefined && CHANNEL_OPTIONS[channel].retain) {
        // A zero-byte retained PUBLISH deletes the retained message [MQTT-3.3.1-10]; the ACL has
        // already made sure it comes from the topic's owner (its gateway, or the control center).
        if (packet.payload.length === 0) {
          metrics.messagesIn.inc({ channel });
          return done(null);
        }
      } else {
        // Retained elsewhere, a message would reach every later subscriber and every dashboard
        // snapshot. The message itself is valid and goes on (telemetry is still stored); only
        // the flag is refused, and counted.
        packet.retain = false;
        reject(client, account, packet.topic, 'retain', [
          'retain is allowed only on status, level and notice',
        ]);
      }
    }
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
    const all = verdict.telemetry.readings;
    // Readings per second, per account: one message may carry 1,000 readings, so the message
    // rate alone let one gateway push 159,200 readings/s and slow everyone's PUBACKs.
    const bucket = readingBuckets.get(account?.username ?? `${site}.${gateway}`);
    const wait = all.length === 0 ? 0 : bucket.reserve(all.length);
    if (wait > limits.maxThrottleMs) {
      bucket.refund(all.length);
      reject(client, account, packet.topic, 'rate', [`over ${limits.readingsPerSecond} readings/s`]);
      return done(new Error('reading rate exceeded'));
    }
    noteTelemetry(site, gateway, verdict.telemetry.seq);
    const readings = admitReadings(client, site, gateway, all);
    metrics.readingsReceived.inc(readings.length);
    // Aedes writes the PUBACK right after this callback (lib/handlers/publish.js, QoS 1): holding
    // the callback until the recorder reports durability makes PUBACK mean "stored".
    const record = () => recorder.submit(readings, receivedAt).then(() => done(null));
    if (wait === 0) record();
    else setTimeout(record, wait);
  }

  /**
   * The readings of a valid message that are stored: refused one by one (counted per gateway and
   * reason, logged once per burst) are readings of sensors beyond the gateway's bound and readings
   * from the future (a gateway clock that is wrong would move the site's engine clock).
   */
  function admitReadings(
    client: Client,
    site: string,
    gateway: string,
    readings: readonly Reading[],
  ): StoredReading[] {
    const key = `${site}/${gateway}`;
    let sensors = knownSensors.get(key);
    if (!sensors) {
      sensors = new Set();
      knownSensors.set(key, sensors);
    }
    const t = now();
    const kept: StoredReading[] = [];
    let future = 0;
    let aheadMs = 0;
    let overBound = 0;
    for (const r of readings) {
      if (isAhead(r.ts, t, limits.maxClockSkewMs)) {
        future++;
        aheadMs = Math.max(aheadMs, r.ts - t);
        continue;
      }
      if (!sensors.has(r.sensor)) {
        if (sensors.size >= limits.maxSensorsPerGateway) {
          overBound++;
          continue;
        }
        sensors.add(r.sensor);
      }
      kept.push({ ...r, site, gateway });
    }
    // 0 again once a message has no reading from the future: the gauge shows the clock as it is now.
    const state = gatewayState(key);
    if (state.aheadMs !== aheadMs) {
      state.aheadMs = aheadMs;
      metrics.gatewayClockAhead.set({ site, gateway }, aheadMs / 1000);
    }
    if (future > 0) {
      metrics.readingsRefused.inc({ site, gateway, reason: 'future' }, future);
      reportBurst(
        `${key}|future`,
        {
          clientId: clip(client.id),
          site,
          gateway,
          readings: future,
          aheadSeconds: Math.round(aheadMs / 1000),
        },
        'readings from the future refused (gateway clock ahead of the broker)',
      );
    }
    if (overBound > 0) {
      metrics.readingsRefused.inc({ site, gateway, reason: 'sensors' }, overBound);
      reportBurst(
        `${key}|sensors`,
        { clientId: clip(client.id), site, gateway, readings: overBound, max: limits.maxSensorsPerGateway },
        'readings of sensors beyond the gateway bound refused',
      );
    }
    return kept;
  }

  const hooks: Hooks = {
    authenticate(client, username, password, done) {
      // Aedes checks maxClientsIdLength only for MQTT 3.1 (protocol version 3); this is for all.
      // Independent of any account, so refusing it first tells nothing about accounts.
      if (client.id.length > limits.maxClientIdLength) {
        return refuse(client, 'client_id_length', IDENTIFIER_REJECTED, username, done);
      }
      if (!registry || username === undefined || password === undefined) {
        if (ctx.allowAnonymous) {
          accept(client, null);
          return done(null, true);
        }
        return refuse(client, registry ? 'anonymous' : 'no_auth_configured', NOT_AUTHORIZED, username, done);
      }
      // Failed logins are limited per remote address. The token is taken before the secret is
      // checked and given back only on success, so attempts in flight count: a parallel burst
      // gets `failedAuthBurst` guesses, not one per connection.
      const address = remoteAddress(client);
      const addressBucket = failedAuthBuckets.get(address);
      if (!addressBucket.tryTake()) {
        // In back-off, a secret this process already verified for the account (an HMAC compare,
        // no scrypt) still gets in, with its own small budget per address: the owner behind the
        // same address as a guesser is not locked out for as long as the guessing goes on.
        const cached = backoffChecks.get(address).tryTake()
          ? registry.verifyCached(username, password)
          : undefined;
        if (!cached) return refuse(client, 'address_backoff', SERVER_UNAVAILABLE, username, done);
        return admit(client, cached, username, done);
      }
      // The secret is checked first (unknown accounts against a dummy hash), the client id after:
      // an unknown username, a wrong secret and a wrong client id all answer 4 after one scrypt,
      // so neither the code nor the timing tells which usernames exist.
      registry.verify(username, password).then(
        (result) => {
          if (!result.ok) return refuse(client, result.reason, BAD_USERNAME_OR_PASSWORD, username, done);
          addressBucket.refund();
          admit(client, result.account, username, done);
        },
        (err: unknown) => {
          log.error({ err, username: clip(username) }, 'registry lookup failed');
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
      // Only the broker publishes system topics (the clock): nobody, not even an anonymous test
      // client, may give gateways a false time.
      const system = parseTopic(packet.topic)?.scope === 'system';
      if (system || (account && !mayPublish(account, packet.topic))) {
        const reason: RejectReason = parseTopic(packet.topic) ? 'acl' : 'topic';
        reject(client, account, packet.topic, reason, [
          `${account?.role ?? 'anonymous'} ${account?.username ?? ''} may not publish here`,
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
        `${clip(client.id)}|subscribe`,
        { clientId: clip(client.id), username: account?.username, filter: clip(sub.topic) },
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
      // A zero-byte PUBLISH (the deletion of a retained message) is not a contract payload: it
      // clears the retained message, but no subscriber is handed an empty "status" or "level".
      if (packet.payload.length === 0 && !packet.topic.startsWith('$SYS/')) return null;
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
