import { readFileSync } from 'node:fs';
import {
  type Channel,
  type ChannelPayload,
  type ContractPublisher,
  contractPublisher,
  encodePayload,
  type Topic,
} from '@slopeguard/core';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { UplinkConfig } from './config/schema.ts';

export interface UplinkEvents {
  onConnect(): void;
  onClose(): void;
  /** `retain`: the broker sent a stored retained copy, not a live message (e.g. on every subscribe). */
  onMessage(topic: string, payload: Buffer, retain: boolean): void;
}

/**
 * The MQTT connection to the broker. Reconnects forever with a capped, doubling delay (mqtt.js only
 * knows a fixed period, so the period is adjusted on every close). QoS 1 messages in flight when the
 * link drops stay in mqtt.js's outgoing store and are resent on reconnect; their callbacks fire on
 * PUBACK. Messages are only handed to mqtt.js while connected, so that store stays small.
 */
export class Uplink {
  readonly #client: MqttClient;
  readonly #cfg: UplinkConfig;
  readonly #log: Logger;
  readonly #contract: ContractPublisher;
  #period: number;

  constructor(
    cfg: UplinkConfig,
    will: { topic: Topic<'status'>; payload: () => ChannelPayload['status'] },
    subscriptions: string[],
    events: UplinkEvents,
    log: Logger,
  ) {
    this.#cfg = cfg;
    this.#log = log;
    this.#period = cfg.reconnectMinMs;
    const options: IClientOptions = {
      clientId: cfg.clientId,
      clean: true,
      keepalive: cfg.keepaliveS,
      connectTimeout: cfg.connectTimeoutMs,
      reconnectPeriod: this.#period,
      protocolVersion: 4,
      queueQoSZero: false,
      // The will is a status message: the same QoS and retain as every status (CHANNEL_OPTIONS).
      will: {
        topic: will.topic,
        payload: Buffer.from(encodePayload('status', will.payload())),
        qos: 1,
        retain: true,
      },
      ...(cfg.username !== undefined ? { username: cfg.username } : {}),
      ...(cfg.password !== undefined ? { password: cfg.password } : {}),
      ...(cfg.caFile ? { ca: readFileSync(cfg.caFile) } : {}),
    };
    this.#client = connect({ ...brokerAddress(cfg.url), ...options });
    this.#contract = contractPublisher(this.#client);
    let firstError = true;
    this.#client.on('connect', () => {
      firstError = true;
      this.#period = cfg.reconnectMinMs;
      this.#client.options.reconnectPeriod = this.#period;
      log.info({ url: redact(cfg.url) }, 'uplink connected');
      this.#client.subscribe(subscriptions, { qos: 1 }, (err, granted) => {
        if (err) log.error({ err: err.message }, 'subscribe failed');
        // 128 = refused by the broker's ACL: commands or the official level would never arrive.
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) log.error({ topics: refused }, 'subscriptions refused by the broker');
      });
      events.onConnect();
    });
    this.#client.on('close', () => {
      // The will is fixed at CONNECT; refresh its timestamp for the next attempt.
      if (this.#client.options.will)
        this.#client.options.will.payload = Buffer.from(encodePayload('status', will.payload()));
      this.#period = Math.min(cfg.reconnectMaxMs, this.#period * 2);
      this.#client.options.reconnectPeriod = this.#period;
      events.onClose();
    });
    this.#client.on('error', (err) => {
      // Log the first of a run of identical failures, not one line per reconnect attempt.
      if (firstError) log.warn({ err: err.message, url: redact(cfg.url) }, 'uplink error');
      firstError = false;
    });
    this.#client.on('message', (topic, payload, packet) => events.onMessage(topic, payload, packet.retain));
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  /**
   * Publishes a contract message with its channel's QoS and retain. Resolves on PUBACK; rejects only
   * if mqtt.js gives the message up (client ended).
   */
  publish<C extends Channel>(topic: Topic<C>, payload: ChannelPayload[C]): Promise<void> {
    return this.#contract.publish(topic, payload);
  }

  /** A payload the durable queue kept encoded (telemetry batches, events). */
  publishEncoded<C extends Channel>(topic: Topic<C>, encoded: string): Promise<void> {
    return this.#contract.publishEncoded(topic, encoded);
  }

  async end(): Promise<void> {
    await new Promise<void>((resolve) => this.#client.end(false, {}, () => resolve()));
    this.#log.info('uplink closed');
  }

  /** Drops the connection at once (no DISCONNECT packet, so the broker sends the will). */
  async kill(): Promise<void> {
    await new Promise<void>((resolve) => this.#client.end(true, {}, () => resolve()));
  }

  get config(): UplinkConfig {
    return this.#cfg;
  }
}

/**
 * mqtt://host:port or mqtts://host:port as connect options, parsed with the WHATWG URL parser (given a
 * string, mqtt.js would use the deprecated url.parse). Credentials come from uplink.username/password,
 * never from the URL; the config schema only admits mqtt and mqtts URLs.
 */
export function brokerAddress(url: string): Pick<IClientOptions, 'protocol' | 'hostname' | 'port'> {
  const u = new URL(url);
  const protocol = u.protocol === 'mqtts:' ? 'mqtts' : 'mqtt';
  return {
    protocol,
    // IPv6 literals come bracketed from URL; net.connect wants them bare.
    hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: u.port === '' ? (protocol === 'mqtts' ? 8883 : 1883) : Number(u.port),
  };
}

/** A URL fit for logs: credentials in it are removed. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
