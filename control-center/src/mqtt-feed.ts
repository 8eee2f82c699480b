import {
  type Channel,
  decodePayload,
  type GatewayEvent,
  gatewayFilter,
  parseTopic,
  type SiteLevel,
  type Status,
  siteFilter,
  type Telemetry,
} from '@slopeguard/core';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import {
  type BoundedEvent,
  boundedEvent,
  boundedReading,
  boundedStatus,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  MAX_PAYLOAD_BYTES,
} from './bounded.ts';
import type { LiveView } from './live-view.ts';

/** What the feed hands on to the realtime layer after a message has been validated and applied. */
export type FeedEvent =
  | { channel: 'telemetry'; site: string; gateway: string; message: Telemetry }
  | { channel: 'status'; site: string; gateway: string; message: ReturnType<typeof boundedStatus> }
  | { channel: 'event'; site: string; gateway: string; message: BoundedEvent }
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
}

export interface MqttFeed {
  readonly client: MqttClient;
  close(): Promise<void>;
}

const SUBSCRIPTIONS = [
  gatewayFilter('telemetry'),
  gatewayFilter('status'),
  gatewayFilter('event'),
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

  const client = await mqtt.connectAsync(options.url, {
    clientId: options.clientId ?? `control-center-${process.pid}`,
    username: options.username,
    password: options.password,
    reconnectPeriod: 1000,
  });
  client.on('error', (err) => logger.warn({ err: err.message }, 'mqtt error'));
  client.on('reconnect', () => logger.debug('mqtt reconnecting'));

  const lastLogged = new Map<string, number>();
  const reject = (reason: string, topic: string, errors: string[]) => {
    rejected.inc({ reason });
    // Log the first of a burst per topic, not every message: a broken gateway must not flood the log.
    const t = now();
    if ((lastLogged.get(topic) ?? 0) + 60_000 < t) {
      lastLogged.set(topic, t);
      logger.warn({ topic, reason, errors }, 'dropped message');
    }
  };

  client.on('message', (topic, payload) => {
    try {
      const parsed = parseTopic(topic);
      if (!parsed) return reject('topic', topic, ['not a contract topic']);
      const channel: Channel = parsed.channel;
      received.inc({ channel });
      // Bounded before parsing: a huge or deeply nested payload is refused without building it.
      if (payload.length > (MAX_PAYLOAD_BYTES[channel] ?? 16 * 1024))
        return reject('too_large', topic, [`${payload.length} bytes`]);
      if (jsonDepthExceeds(payload, MAX_JSON_DEPTH))
        return reject('too_deep', topic, [`nesting deeper than ${MAX_JSON_DEPTH}`]);
      const decoded = decodePayload(channel, payload);
      if (!decoded.ok)
        return reject(
          decoded.errors[0]?.startsWith('not JSON') ? 'not_json' : 'schema',
          topic,
          decoded.errors,
        );
      const at = now();
      if (parsed.scope === 'site') {
        const message = decoded.value as SiteLevel;
        view.applyLevel(parsed.site, message);
        onEvent({ channel: 'level', site: parsed.site, message });
        return;
      }
      const { site, gateway } = parsed;
      switch (parsed.channel) {
        case 'telemetry': {
          const t = decoded.value as Telemetry;
          const message: Telemetry = { seq: t.seq, readings: t.readings.map(boundedReading) };
          view.applyTelemetry(site, gateway, message, at);
          onEvent({ channel: 'telemetry', site, gateway, message });
          break;
        }
        case 'status': {
          const message = boundedStatus(decoded.value as Status);
          view.applyStatus(site, gateway, message, at);
          onEvent({ channel: 'status', site, gateway, message });
          break;
        }
        case 'event': {
          const message = boundedEvent(decoded.value as GatewayEvent);
          view.applyEvent(site, gateway, message);
          onEvent({ channel: 'event', site, gateway, message });
          break;
        }
        default:
          break;
      }
    } catch (err) {
      // One bad message or a failing listener must not stop the feed.
      logger.error({ err, topic }, 'feed handler failed');
    }
  });

  await client.subscribeAsync(SUBSCRIPTIONS, { qos: 1 });
  logger.info({ url: options.url, subscriptions: SUBSCRIPTIONS }, 'subscribed');

  return {
    client,
    async close() {
      await client.endAsync();
    },
  };
}
