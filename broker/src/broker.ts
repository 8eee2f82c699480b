import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes, type AedesOptions, type AuthenticateError, type Client } from 'aedes';
import pino, { type Logger } from 'pino';
import { Registry } from 'prom-client';
import { createBurstLog } from './burst-log.ts';
import { BrokerError } from './errors.ts';
import { type BrokerMetrics, createBrokerMetrics } from './metrics.ts';
import { createRecorder, type Recorder, type RecorderOptions } from './recorder.ts';
import type { Store, StoredReading } from './store/types.ts';
import { checkPublish, type RejectReason } from './validate-publish.ts';

export interface BrokerOptions {
  /** MQTT over TCP. Port 0 = a free port (read it back from `BrokerService.port`). */
  mqtt: { host: string; port: number };
  store: Store;
  logger?: Logger;
  /** Registry to register the broker's metrics in (shared with the control center's /metrics). */
  metrics?: Registry;
  /**
   * TEST/DEMO ONLY: accept clients without credentials, with every permission. Off by default; logged
   * as a warning at start. Without it (and without `auth`) every CONNECT is refused.
   */
  allowAnonymous?: boolean;
  /** Recorder tuning (group commit delay, batch size, concurrency, retry). */
  recorder?: Omit<RecorderOptions, 'store' | 'metrics' | 'logger'>;
}

export interface BrokerService {
  readonly port: number;
  readonly aedes: Aedes;
  readonly metrics: BrokerMetrics;
  /** Stops accepting, flushes the recorder, closes listeners and clients. Does not close the store. */
  close(): Promise<void>;
}

/** Quarantine topic prefix: `$` topics never match `#` or `+` subscriptions [MQTT-4.7.2-1]. */
export const REJECTED_TOPIC_PREFIX = '$SG/rejected/';

const NOT_AUTHORIZED = 5;

function authError(message: string, returnCode: number): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

export async function startBroker(options: BrokerOptions): Promise<BrokerService> {
  const log = (options.logger ?? pino({ name: 'slopeguard' })).child({ component: 'broker' });
  const metrics = createBrokerMetrics(options.metrics ?? new Registry());
  const recorder: Recorder = createRecorder({
    ...options.recorder,
    store: options.store,
    metrics,
    logger: log,
  });
  const reportBurst = createBurstLog(log);
  const lastSeq = new Map<string, number>();

  if (options.allowAnonymous) {
    log.warn('ANONYMOUS ACCESS ENABLED: any client may connect, publish and subscribe (tests and demo only)');
  }

  function quarantine(
    packet: { topic: string; payload: Buffer | string; retain: boolean },
    reason: RejectReason,
  ) {
    const original = packet.topic;
    // Acknowledge but do not forward: a refused QoS 1 PUBLISH that closed the connection would be
    // redelivered forever by the client [MQTT-4.4.0-1]; [MQTT-3.3.5-2] allows a positive ack instead.
    packet.topic = `${REJECTED_TOPIC_PREFIX}${reason}`;
    packet.retain = false;
    packet.payload = Buffer.from(JSON.stringify({ topic: original.slice(0, 300), reason }));
  }

  function reject(
    client: Client | null,
    topic: string,
    reason: RejectReason,
    errors: string[],
    ids: { site?: string; gateway?: string },
  ) {
    metrics.rejected.inc({ reason });
    if (ids.site !== undefined && ids.gateway !== undefined) {
      metrics.rejectedByGateway.inc({ site: ids.site, gateway: ids.gateway, reason });
    }
    const clientId = client?.id ?? '(broker)';
    reportBurst(
      `${clientId}|${reason}`,
      { clientId, topic: topic.slice(0, 300), reason, errors },
      'publish refused',
    );
  }

  function noteTelemetry(site: string, gateway: string, seq: number): void {
    metrics.gatewayLastSeen.set({ site, gateway }, Date.now() / 1000);
    const key = `${site}/${gateway}`;
    const prev = lastSeq.get(key);
    if (prev !== undefined && seq > prev + 1) metrics.seqGaps.inc({ site, gateway }, seq - prev - 1);
    if (prev === undefined || seq > prev) lastSeq.set(key, seq);
  }

  const aedesOptions: AedesOptions = {
    authenticate(_client, username, _password, done) {
      if (options.allowAnonymous) return done(null, true);
      metrics.refusedConnections.inc({ reason: 'no_auth_configured' });
      done(
        authError(`no authentication configured; refusing ${username ?? 'anonymous'}`, NOT_AUTHORIZED),
        false,
      );
    },
    authorizePublish(client, packet, done) {
      // Publishes made by the broker itself (will messages are checked at CONNECT, $SYS heartbeats).
      if (!client) return done(null);
      const receivedAt = performance.now();
      const verdict = checkPublish(packet.topic, packet.payload);
      if (!verdict.ok) {
        reject(client, packet.topic, verdict.reason, verdict.errors, verdict);
        quarantine(packet, verdict.reason);
        return done(null);
      }
      metrics.messagesIn.inc({ channel: verdict.channel });
      if (verdict.telemetry === undefined || verdict.gateway === undefined) return done(null);
      const { site, gateway } = verdict;
      const readings: StoredReading[] = verdict.telemetry.readings.map((r) => ({ ...r, site, gateway }));
      metrics.readingsReceived.inc(readings.length);
      noteTelemetry(site, gateway, verdict.telemetry.seq);
      // PUBACK is written by Aedes right after this callback (lib/handlers/publish.js): holding the
      // callback until the recorder reports durability makes PUBACK mean "stored".
      recorder.submit(readings, receivedAt).then(() => done(null));
    },
    authorizeSubscribe(_client, sub, done) {
      if (options.allowAnonymous) return done(null, sub);
      metrics.rejected.inc({ reason: 'acl' });
      done(null, null);
    },
    authorizeForward(client, packet) {
      if (packet.topic.startsWith(REJECTED_TOPIC_PREFIX)) {
        // Offline queues of persistent sessions do not apply the `$` rule (aedes enqueueOffline), so
        // quarantined packets go only to clients that subscribed to a `$SG/` filter explicitly.
        // `subscriptions` is an Aedes Client field missing from its type declarations.
        const subs = (client as unknown as { subscriptions: Record<string, unknown> }).subscriptions;
        const explicit = Object.keys(subs).some((t) => t.startsWith('$SG/'));
        if (!explicit) return null;
      }
      metrics.messagesOut.inc();
      return packet;
    },
  };

  const aedes = await Aedes.createBroker(aedesOptions);
  aedes.on('client', () => {
    metrics.connections.inc();
    metrics.connectionsTotal.inc();
  });
  aedes.on('clientDisconnect', () => metrics.connections.dec());

  const server: Server = createServer((socket) => aedes.handle(socket));
  server.listen(options.mqtt.port, options.mqtt.host);
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') {
    throw new BrokerError('SG_ERR_BROKER_CONFIG', 'MQTT listener has no TCP address');
  }
  log.info({ host: options.mqtt.host, port: address.port }, 'MQTT listener ready');

  let closed: Promise<void> | undefined;
  return {
    port: address.port,
    aedes,
    metrics,
    close() {
      closed ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await recorder.close();
        await new Promise<void>((resolve) => aedes.close(() => resolve()));
        await serverClosed;
        log.info('broker closed');
      })();
      return closed;
    },
  };
}
