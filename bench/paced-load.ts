import { gatewayTopic } from '@slopeguard/core';
import type { MqttClient } from 'mqtt';
import { SENSORS_PER_SITE, siteId } from './center-server.ts';

/**
 * The alerts bench's load generator: every site's gateway (already connected, one MQTT connection
 * each) sends one telemetry message of 20 readings a second (a rain gauge and 19 tilt sensors), as
 * center-server.ts's `startLoad` does, with two differences that matter when the generator shares
 * two cores with the server:
 *
 * - Paced by the clock, not by timer ticks. `startLoad` sends a fixed number of messages per 10 ms
 *   tick, so every tick the loaded event loop skipped was offered load lost (20,000 readings/s
 *   offered, about 19,000 sent in a run here). Here each tick sends every message due since the
 *   start, so a late tick catches up and the rate offered over the run is the one configured.
 * - Cheaper per message: the payload is written as one string (the same JSON, field for field)
 *   instead of 20 reading objects, their value objects and an array passed to JSON.stringify.
 */
export interface PacedLoad {
  /** Makes the next message of site i carry this much rain (mm) in its rain reading. */
  rainOnce(i: number, mm: number): void;
  /** Stops the load; what was published (and what MQTT.js reported failed). */
  stop(): { published: number; failed: number };
}

/** The tick: how often the generator looks at the clock. */
const TICK_MS = 10;

export function startPacedLoad(o: {
  gateways: readonly MqttClient[];
  sites: number;
  /** Messages per site per second (default 1). */
  perSiteHz?: number;
  onPublish?: (site: number, at: number) => void;
}): PacedLoad {
  const { sites } = o;
  const rate = sites * (o.perSiteHz ?? 1);
  const rain = new Map<number, number>();
  const seq = new Float64Array(sites);
  const lastTs = new Float64Array(sites);
  const topics = Array.from({ length: sites }, (_, i) => gatewayTopic(siteId(i), 'gw-1', 'telemetry'));
  // The constant part of each tilt reading, before its timestamp.
  const tiltHead = Array.from(
    { length: SENSORS_PER_SITE },
    (_, k) => `,{"sensor":"tilt-${k}","kind":"tilt","ts":`,
  );

  /** The same JSON as center-server.ts's message(): a rain reading, then tilt-1..19 with their noise. */
  const payload = (i: number, ts: number, mm: number): string => {
    seq[i] = (seq[i] ?? 0) + 1;
    let s = `{"seq":${seq[i]},"readings":[{"sensor":"rain-1","kind":"rain","ts":${ts},"values":{"mm":${mm}}}`;
    for (let k = 1; k < SENSORS_PER_SITE; k++) {
      // A still slope: a few thousandths of a degree of noise around each sensor's own offset.
      const n = Math.sin(ts / 997 + i * 31 + k) * 0.002;
      s += `${tiltHead[k]}${ts},"values":{"x":${k * 0.1 + n},"y":${-k * 0.05 - n}}}`;
    }
    return `${s}]}`;
  };

  let published = 0;
  let failed = 0;
  const onDone = (err?: Error) => {
    if (err) failed++;
  };
  const t0 = performance.now();
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    while (published < due) {
      const i = published % sites;
      const now = Date.now();
      const ts = Math.max(now, (lastTs[i] ?? 0) + 1);
      lastTs[i] = ts;
      const mm = rain.get(i) ?? 0;
      if (mm !== 0) rain.delete(i);
      const body = payload(i, ts, mm);
      o.onPublish?.(i, now);
      published++;
      o.gateways[i]?.publish(topics[i] as string, body, { qos: 1 }, onDone);
    }
  }, TICK_MS);

  return {
    rainOnce: (i, mm) => rain.set(i, mm),
    stop() {
      clearInterval(timer);
      return { published, failed };
    },
  };
}
