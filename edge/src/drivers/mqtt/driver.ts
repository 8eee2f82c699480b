import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { childLogger } from '@slopeguard/core/log.ts';
import { rainCounter, SensorConverter } from '@slopeguard/firmware-bridge/convert.ts';
import type { Driver, DriverHealth, ReadingSink } from '@slopeguard/firmware-bridge/driver.ts';
import { deliver } from '@slopeguard/firmware-bridge/drivers/deliver.ts';
import { HealthTracker } from '@slopeguard/firmware-bridge/health.ts';
import { connect, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Clock } from '../../clock.ts';
import { brokerAddress } from '../../uplink.ts';
import { type MqttDriverConfig, type MqttSensor, sensorTopic, topicMatches } from './config.ts';
import { extract, parseBody } from './payload.ts';

interface Slot {
  sensor: MqttSensor;
  filter: string;
  converter: SensorConverter;
  intervalMs: number;
  /** Gateway time of the last good message (or of the start), for staleness. */
  heardAt: number;
}

/**
 * Readings from field nodes that publish JSON to a local MQTT broker (Mosquitto on the gateway, or
 * any broker the nodes already use). The driver is a client of that broker: it subscribes to each
 * sensor's topic filter, maps each message to the sensors whose filter matches, and hands their
 * readings on exactly as the serial drivers do (calibration, range, counters, health).
 *
 * A bad message (too big, not JSON, a field missing or not a number, a bad time) is refused for the
 * sensors it was meant for: counted as `bad_payload` in their health, logged once per run, dropped.
 * It never reaches the queue and never affects the other sensors. A sensor silent for
 * `staleIntervals` of its interval shows as down.
 */
export class MqttDriver implements Driver {
  readonly id: string;
  readonly #cfg: MqttDriverConfig;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #tracker: HealthTracker;
  readonly #slots: Slot[];
  #client: MqttClient | undefined;
  #sink: ReadingSink = () => {};

  constructor(cfg: MqttDriverConfig, clock: Clock, logger: Logger) {
    this.id = cfg.id;
    this.#cfg = cfg;
    this.#clock = clock;
    this.#log = childLogger(logger, { driver: cfg.id });
    const now = () => clock.now();
    this.#tracker = new HealthTracker(
      this.#log,
      now,
      cfg.sensors.map((s) => s.id),
    );
    this.#slots = cfg.sensors.map((sensor) => ({
      sensor,
      filter: sensorTopic(cfg, sensor),
      intervalMs: sensor.intervalMs ?? cfg.intervalMs ?? 60_000,
      heardAt: 0,
      converter: new SensorConverter({
        sensor: sensor.id,
        kind: sensor.kind,
        calibration: sensor.calibration,
        range: sensor.range,
        counter: rainCounter(sensor.kind, Object.keys(sensor.fields ?? {}), sensor.counter),
      }),
    }));
  }

  async start(sink: ReadingSink): Promise<void> {
    this.#sink = sink;
    const started = this.#clock.now();
    for (const s of this.#slots) s.heardAt = started;
    const cfg = this.#cfg;
    const password =
      cfg.password ?? (cfg.passwordFile ? readFileSync(cfg.passwordFile, 'utf8').trim() : undefined);
    const client = connect({
      ...brokerAddress(cfg.url ?? 'mqtt://127.0.0.1:1883'),
      clientId: cfg.clientId ?? `slopeguard-${hostname()}-${cfg.id}`.slice(0, 64),
      ...(cfg.username ? { username: cfg.username } : {}),
      ...(password ? { password } : {}),
      ...(cfg.caFile ? { ca: readFileSync(cfg.caFile) } : {}),
      protocolVersion: 4,
      // A persistent session with QoS 1: the local broker keeps the nodes' messages while the
      // gateway restarts, and hands them over when it is back.
      clean: (cfg.qos ?? 1) === 0,
      reconnectPeriod: cfg.reconnectMs ?? 2000,
      connectTimeout: 10_000,
    });
    this.#client = client;
    const filters = [...new Set(this.#slots.map((s) => s.filter))];
    client.on('connect', () => {
      // Up once the broker has confirmed the subscriptions (SUBACK): from then on no message is missed.
      client.subscribe(filters, { qos: cfg.qos ?? 1 }, (err, granted) => {
        if (err) return this.#tracker.error('subscribe', err.message);
        this.#tracker.port(true);
        this.#log.info({ url: cfg.url, topics: filters.length }, 'listening on the local broker');
        // 128 = refused by the broker's ACL (MQTT 3.1.1 §3.9.3): those sensors will never hear.
        for (const g of granted ?? [])
          if (g.qos === 128)
            this.#tracker.error('subscribe', `broker refused the subscription to ${g.topic}`);
      });
    });
    client.on('close', () => this.#tracker.port(false));
    client.on('error', (err) => this.#tracker.error('connect', err.message));
    client.on('message', (topic, body) => this.#onMessage(topic, body));
  }

  /** Never throws: the client's event loop is shared by every sensor of the driver. */
  #onMessage(topic: string, body: Buffer): void {
    try {
      const slots = this.#slots.filter((s) => topicMatches(s.filter, topic));
      if (slots.length === 0) {
        this.#tracker.error('unknown_topic', `no sensor listens on ${topic}`);
        return;
      }
      const parsed = parseBody(body, this.#cfg.maxPayloadBytes ?? 4096);
      for (const slot of slots) {
        const id = slot.sensor.id;
        const x = parsed.ok ? extract(slot.sensor, parsed.json) : parsed;
        if (!x.ok) {
          this.#tracker.error('bad_payload', `${topic}: ${x.message}`, id);
          continue;
        }
        const now = this.#clock.now();
        slot.heardAt = now;
        this.#tracker.ok(id);
        deliver(id, x.values, {
          ts: x.ts ?? now,
          converter: slot.converter,
          tracker: this.#tracker,
          sink: this.#sink,
          log: this.#log,
        });
      }
    } catch (err) {
      this.#log.error({ err: (err as Error).message, topic }, 'mqtt message handling failed');
    }
  }

  /** Nodes decide when they report; the interval only tells when a silent sensor counts as stale. */
  setIntervalMs(_ms: number): void {}

  health(): DriverHealth {
    const h = this.#tracker.snapshot();
    const now = this.#clock.now();
    const stale = this.#cfg.staleIntervals ?? 3;
    for (const slot of this.#slots) {
      const s = h.sensors?.[slot.sensor.id];
      if (!s || s.state === 'down') continue;
      const silentMs = now - slot.heardAt;
      if (silentMs <= stale * slot.intervalMs) continue;
      s.state = 'down';
      s.lastError = `stale: nothing for ${Math.round(silentMs / 1000)} s`;
      if (h.state === 'ok') h.state = 'degraded';
    }
    return h;
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    // Forced: nothing of ours is outgoing, and a broker that is down must not hold up a stop or a
    // reload. A message received but not yet acknowledged is redelivered by the persistent session.
    await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
    this.#tracker.port(false);
  }
}
