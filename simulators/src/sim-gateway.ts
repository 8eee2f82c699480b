import {
  CHANNEL_OPTIONS,
  encodePayload,
  gatewayTopic,
  type Reading,
  type SensorKind,
  type Status,
  type Telemetry,
} from '@slopeguard/core';
import mqtt, { type MqttClient } from 'mqtt';
import { createRng, type Rng } from './rng.ts';

/**
 * A simulated gateway: a real MQTT client that publishes the contract's telemetry and status
 * topics for one site, as a field gateway would. It is the walking skeleton's stand-in for the
 * edge agent and the demo's load; scenario models can drive it through `source`.
 */
export interface SimSensor {
  id: string;
  kind: SensorKind;
}

/** Produces the readings of one sampling instant. */
export type ReadingSource = (ts: number) => Reading[];

export interface SimGatewayOptions {
  url: string;
  site: string;
  gateway: string;
  username?: string;
  password?: string;
  intervalMs?: number;
  source?: ReadingSource;
  seed?: number;
  now?: () => number;
  /**
   * History to publish before going live (instants in time order), in telemetry messages of up to
   * 1,000 readings, each acknowledged before the next; the live timer starts after it.
   */
  backfill?: Iterable<Reading[]>;
}

export interface SimGateway {
  readonly site: string;
  readonly gateway: string;
  /** Publishes one telemetry message now; resolves after the broker's PUBACK. */
  publishOnce(): Promise<Telemetry>;
  /** Number of telemetry messages acknowledged by the broker. */
  readonly acked: number;
  /** Resolves when the history (if any) is published and the live timer runs; rejects if publishing failed. */
  readonly live: Promise<void>;
  readonly client: MqttClient;
  stop(): Promise<void>;
}

export async function startSimGateway(options: SimGatewayOptions): Promise<SimGateway> {
  const { site, gateway } = options;
  const now = options.now ?? Date.now;
  const source = options.source ?? defaultSource(options.seed ?? hashSeed(`${site}/${gateway}`));
  const statusTopic = gatewayTopic(site, gateway, 'status');
  const offline: Status = { state: 'offline', ts: now() };
  const client = await mqtt.connectAsync(options.url, {
    clientId: `${site}.${gateway}`,
    username: options.username,
    password: options.password,
    reconnectPeriod: 1000,
    will: {
      topic: statusTopic,
      payload: Buffer.from(encodePayload('status', offline)),
      qos: 1,
      retain: true,
    },
  });
  const started = now();
  await client.publishAsync(
    statusTopic,
    encodePayload('status', { state: 'online', ts: now(), uptimeS: 0 }),
    CHANNEL_OPTIONS.status,
  );

  let seq = 0;
  let acked = 0;
  const telemetryTopic = gatewayTopic(site, gateway, 'telemetry');
  const publish = async (readings: Reading[]): Promise<Telemetry> => {
    const message: Telemetry = { seq: seq++, readings };
    await client.publishAsync(telemetryTopic, encodePayload('telemetry', message), CHANNEL_OPTIONS.telemetry);
    acked++;
    return message;
  };
  // Readings are stamped on the sampling grid (multiples of the interval), as a gateway polling on a
  // timer does; scenario sources are replayed on the same grid.
  const sampleTs = () =>
    options.intervalMs && options.intervalMs > 0
      ? Math.floor(now() / options.intervalMs) * options.intervalMs
      : now();
  let lastTs = Number.NEGATIVE_INFINITY;
  const publishOnce = (): Promise<Telemetry> => {
    // A late timer must not stamp two samples on one grid point (a sensor's readings go forward).
    const ts = Math.max(sampleTs(), lastTs + (options.intervalMs || 1));
    lastTs = ts;
    return publish(source(ts));
  };

  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const goLive = () => {
    if (stopped || !options.intervalMs || options.intervalMs <= 0) return;
    timer = setInterval(() => {
      // A failed publish (broker gone) is retried by MQTT.js on reconnect; nothing to do here.
      publishOnce().catch(() => undefined);
    }, options.intervalMs);
    timer.unref?.();
  };
  const backfill = async (history: Iterable<Reading[]>) => {
    let batch: Reading[] = [];
    for (const instant of history) {
      if (stopped) return;
      for (const r of instant) if (r.ts > lastTs) lastTs = r.ts;
      if (batch.length + instant.length > 1000) {
        await publish(batch);
        batch = [];
      }
      batch.push(...instant);
    }
    // Catch up: the instants that passed while the history was being published, so the live
    // readings carry on from it without a gap.
    if (options.intervalMs && options.intervalMs > 0) {
      for (let t = lastTs + options.intervalMs; t <= sampleTs() && !stopped; t += options.intervalMs) {
        const instant = source(t);
        if (batch.length + instant.length > 1000) {
          await publish(batch);
          batch = [];
        }
        batch.push(...instant);
        lastTs = t;
      }
    }
    if (batch.length > 0 && !stopped) await publish(batch);
  };
  // History goes first, in the background; the live timer starts once it is all acknowledged.
  const live = options.backfill ? backfill(options.backfill).then(goLive) : Promise.resolve(goLive());
  live.catch(() => undefined);

  return {
    site,
    gateway,
    client,
    publishOnce,
    get acked() {
      return acked;
    },
    live,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      const uptimeS = Math.round((now() - started) / 1000);
      await client
        .publishAsync(
          statusTopic,
          encodePayload('status', { state: 'offline', ts: now(), uptimeS }),
          CHANNEL_OPTIONS.status,
        )
        .catch(() => undefined);
      await client.endAsync();
    },
  };
}

/**
 * A plain walking-skeleton signal: one tilt sensor drifting slowly with noise, one rain gauge with
 * intermittent showers. Deterministic for a seed.
 */
export function defaultSource(seed: number): ReadingSource {
  const rng: Rng = createRng(seed);
  let x = rng.normal() * 0.5;
  let y = rng.normal() * 0.5;
  let raining = false;
  return (ts): Reading[] => {
    x += rng.normal() * 0.0005;
    y += rng.normal() * 0.0005;
    if (rng.next() < 0.01) raining = !raining;
    const mm = raining ? Math.round(rng.next() * 5) / 10 : 0;
    return [
      { sensor: 'tilt-1', kind: 'tilt', ts, values: { x: round(x, 4), y: round(y, 4) } },
      { sensor: 'rain-1', kind: 'rain', ts, values: { mm } },
    ];
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

function hashSeed(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}
