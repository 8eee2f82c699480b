import {
  type CommandAck,
  DEFAULT_MAX_CLOCK_AHEAD_MS,
  decodePayload,
  failureOf,
  type GatewayEvent,
  gatewayFilter,
  isAhead,
  parseTopic,
  type SiteLevel,
  type Status,
  siteFilter,
  type Telemetry,
} from '@slopeguard/core';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { LiveView } from './live-view.ts';

/** What the feed hands on to the realtime layer after a message has been validated and applied. */
export type FeedEvent =
  | { channel: 'telemetry'; site: string; gateway: string; message: Telemetry }
  | { channel: 'status'; site: string; gateway: string; message: Status }
  | { channel: 'event'; site: string; gateway: string; message: GatewayEvent }
  | { channel: 'cmd/ack'; site: string; gateway: string; message: CommandAck }
  | { channel: 'level'; site: string; message: SiteLevel };

export interface MqttFeedOptions {
  url: string;
  username?: string;
  password?: string;
  clientId?: string;
  view: LiveView;
  logger: Logger;
  metrics: Registry;
  onEvent: (e: FeedEvent) => void;
  now?: () => number;
  /** Reconnect back-off after a lost or refused connection: first and largest delay (ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Readings further ahead of `now` are refused (default DEFAULT_MAX_CLOCK_AHEAD_MS, 5 min). */
  maxClockAheadMs?: number;
}

export interface MqttFeed {
  readonly client: MqttClient;
  close(): Promise<void>;
}

const SUBSCRIPTIONS = [
  gatewayFilter('telemetry'),
  gatewayFilter('status'),
  gatewayFilter('event'),
  gatewayFilter('cmd/ack'),
  siteFilter('level'),
];

/**
 * The control center's subscription to the broker. The broker already validates payloads; the
 * feed validates again because it trusts nothing it did not check itself (a misconfigured broker,
 * a retained message from an older version), and counts what it drops.
 */
export async function startMqttFeed(options: MqttFeedOptions): Promise<MqttFeed> {
  const { view, logger, onEvent } = options;
  const now = options.now ?? Date.now;
  const received = new Counter({
    name: 'slopeguard_center_messages_total',
    help: 'Messages the control center received, by channel',
    labelNames: ['channel'],
    registers: [options.metrics],
  });
  const rejected = new Counter({
    name: 'slopeguard_center_rejected_total',
    help: 'Messages the control center dropped, by reason',
    labelNames: ['reason'],
    registers: [options.metrics],
  });

  // The broker may refuse or be unreachable (restarting, or busy: CONNACK 3): the feed retries
  // with a capped exponential back-off and never gives up, so the server does not exit over it.
  // MQTT.js's own reconnect has a fixed period, so reconnecting is done here.
  const retryMinMs = options.retryMinMs ?? 500;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  let retryInMs = retryMinMs;
  let retryTimer: NodeJS.Timeout | undefined;
  let closing = false;
  const client = mqtt.connect(options.url, {
    clientId: options.clientId ?? `control-center-${process.pid}`,
    username: options.username,
    password: options.password,
    reconnectPeriod: 0,
    // Subscribed again on every connect below (a clean session forgets them).
    resubscribe: false,
  });
  let firstOutcome: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    firstOutcome = resolve;
  });
  client.on('error', (err) => logger.warn({ err: err.message }, 'mqtt error'));
  client.on('connect', () => {
    retryInMs = retryMinMs;
    client.subscribe(SUBSCRIPTIONS, { qos: 1 }, (err) => {
      if (err) logger.error({ err: err.message }, 'subscribe failed');
      else logger.info({ url: options.url, subscriptions: SUBSCRIPTIONS }, 'subscribed');
      firstOutcome();
    });
  });
  client.on('close', () => {
    if (closing || retryTimer) return;
    logger.warn({ url: options.url, retryInMs }, 'broker connection lost or refused; retrying');
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      // Keep the stores: QoS 1 level publishes waiting for their PUBACK are resent.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, retryInMs);
    retryInMs = Math.min(retryMaxMs, retryInMs * 2);
    // Start without the feed rather than wait: the dashboard shows data once it connects.
    firstOutcome();
  });

  const futureReadings = new Counter({
    name: 'slopeguard_center_future_readings_total',
    help: 'Readings refused because their time was too far ahead of the control center clock, by gateway',
    labelNames: ['site', 'gateway'],
    registers: [options.metrics],
  });
  const maxAheadMs = options.maxClockAheadMs ?? DEFAULT_MAX_CLOCK_AHEAD_MS;
  const staleEvents = new Counter({
    name: 'slopeguard_center_stale_events_total',
    help: "Gateway events older than that gateway's last event shown, so not shown as the site's last event",
    registers: [options.metrics],
  });

  const lastLogged = new Map<string, number>();
  const reject = (reason: string, topic: string, errors: string[]) => {
    rejected.inc({ reason });
    // Log the first of a burst per topic, not every message: a broken gateway must not flood the log.
    const t = now();
    if (lastLogged.size > 10_000) lastLogged.clear(); // bounded, whatever the topics
    if ((lastLogged.get(topic) ?? 0) + 60_000 < t) {
      lastLogged.set(topic, t);
      logger.warn({ topic, reason, errors }, 'dropped message');
    }
  };

  client.on('message', (topic, payload) => {
    try {
      const parsed = parseTopic(topic);
      if (!parsed) return reject('topic', topic, ['not a contract topic']);
      received.inc({ channel: parsed.channel });
      const at = now();
      const refuse = (errors: string[]) => reject(failureOf(errors), topic, errors);
      if (parsed.scope === 'system') return;
      if (parsed.scope === 'site') {
        if (parsed.channel !== 'level') return;
        const d = decodePayload('level', payload);
        if (!d.ok) return refuse(d.errors);
        view.applyLevel(parsed.site, d.value);
        onEvent({ channel: 'level', site: parsed.site, message: d.value });
        return;
      }
      const { site, gateway } = parsed;
      switch (parsed.channel) {
        case 'telemetry': {
          const d = decodePayload('telemetry', payload);
          if (!d.ok) return refuse(d.errors);
          // A reading stamped too far ahead of this clock would move the site's rules into the
          // future: refuse it (the rest of the message is good), count it, and show the clock faulty.
          const readings = d.value.readings.filter((r) => !isAhead(r.ts, at, maxAheadMs));
          const future = d.value.readings.length - readings.length;
          if (future > 0) {
            futureReadings.inc({ site, gateway }, future);
            view.applyFutureReadings(site, gateway, future, at);
            reject('future', topic, [`${future} reading(s) more than ${maxAheadMs} ms ahead of the clock`]);
          }
          const message = future > 0 ? { seq: d.value.seq, readings } : d.value;
          view.applyTelemetry(site, gateway, message, at);
          onEvent({ channel: 'telemetry', site, gateway, message });
          break;
        }
        case 'status': {
          const d = decodePayload('status', payload);
          if (!d.ok) return refuse(d.errors);
          view.applyStatus(site, gateway, d.value, at);
          onEvent({ channel: 'status', site, gateway, message: d.value });
          break;
        }
        case 'event': {
          const d = decodePayload('event', payload);
          if (!d.ok) return refuse(d.errors);
          // An event older than the gateway's last one shown is not shown (LiveView.applyEvent), but
          // still passed on: it happened, and the live log lists events as they come.
          if (!view.applyEvent(site, gateway, d.value, at)) staleEvents.inc();
          onEvent({ channel: 'event', site, gateway, message: d.value });
          break;
        }
        case 'cmd/ack': {
          const d = decodePayload('cmd/ack', payload);
          if (!d.ok) return refuse(d.errors);
          onEvent({ channel: 'cmd/ack', site, gateway, message: d.value });
          break;
        }
        default:
          break;
      }
    } catch (err) {
      // One bad message or a failing listener must not stop the feed.
      logger.error({ err: (err as Error).message, topic: topic.slice(0, 200) }, 'feed handler failed');
    }
  });

  await started;

  return {
    client,
    async close() {
      closing = true;
      if (retryTimer) clearTimeout(retryTimer);
      await client.endAsync(!client.connected);
    },
  };
}
