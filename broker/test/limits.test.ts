import { gatewayTopic } from '@slopeguard/core';
import type { MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerService, DeviceRegistry, Limits, Store } from '../src/index.ts';
import { TokenBucket } from '../src/limits.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, telemetry, tilt } from './helpers.ts';

describe('TokenBucket', () => {
  it('gives the burst at once, then one token per 1/rate, and says how long to wait', () => {
    let t = 0;
    const b = new TokenBucket(10, 3, () => t);
    expect([b.reserve(), b.reserve(), b.reserve()]).toEqual([0, 0, 0]);
    expect(b.reserve()).toBeCloseTo(100);
    expect(b.reserve()).toBeCloseTo(200);
    t = 1000; // refilled to the burst (never more)
    expect([b.tryTake(), b.tryTake(), b.tryTake(), b.tryTake()]).toEqual([true, true, true, false]);
  });
});

describe('limits', () => {
  let bed: ReturnType<typeof brokerBed>;
  let store: Store;
  let registry: DeviceRegistry;
  let broker: BrokerService;
  let metrics: Registry;
  let secret: string;
  const clients: MqttClient[] = [];

  async function start(limits: Partial<Limits>) {
    broker = await bed.start({
      limits,
    });
  }
  async function gw(clientId = 's1.g1') {
    const c = await connect(broker.port, { username: 's1.g1', password: secret, clientId });
    clients.push(c);
    return c;
  }
  const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));
  const rejected = async (reason: string) => {
    const text = await metrics.getSingleMetricAsString('slopeguard_broker_rejected_total');
    return Number(
      text
        .split('\n')
        .find((l) => l.includes(`reason="${reason}"`))
        ?.split(' ')
        .pop() ?? 0,
    );
  };

  beforeEach(() => {
    bed = brokerBed('sg-broker-');
    ({ store, registry } = bed.open());
    secret = registry.addDevice('s1', 'g1');
    metrics = bed.metrics;
  });
  afterEach(() => bed.close(clients.splice(0)));

  it('closes a connection whose packet exceeds maxPacketBytes, before reading its body', async () => {
    await start({ maxPacketBytes: 4096 });
    const c = await gw();
    const bye = closed(c);
    c.publish(gatewayTopic('s1', 'g1', 'status'), 'x'.repeat(10_000), { qos: 0 });
    await bye;
    expect(await rejected('size')).toBe(1);
    // A packet within the limit is fine.
    const c2 = await gw('s1.g1-2');
    await c2.publishAsync(
      gatewayTopic('s1', 'g1', 'telemetry'),
      JSON.stringify(telemetry(0, [tilt('t', 1)])),
      { qos: 1 },
    );
    expect(await store.count()).toBe(1);
  });

  it('closes a connection that publishes deeper than maxTopicLevels and counts it', async () => {
    await start({ maxTopicLevels: 8 });
    const c = await gw();
    const bye = closed(c);
    c.publish('slopeguard/v1/s1/g1/a/b/c/d/e', '{}', { qos: 0 });
    await bye;
    expect(await rejected('depth')).toBe(1);
  });

  it('refuses CONNECTs over the per-account rate with return code 3', async () => {
    await start({ connectsPerMinute: 1, connectBurst: 2 });
    await gw('s1.g1-a');
    await gw('s1.g1-b');
    await expect(gw('s1.g1-c')).rejects.toMatchObject({ code: 3 });
  });

  it('refuses CONNECTs from an address with too many failed logins, before the slow secret check', async () => {
    await start({ failedAuthPerMinutePerAddress: 1, failedAuthBurst: 3 });
    for (let i = 0; i < 3; i++) {
      await expect(
        connect(broker.port, { username: `s1.nobody${i}`, password: 'x', clientId: `s1.nobody${i}` }),
      ).rejects.toMatchObject({ code: 4 });
    }
    // Even the right secret is refused from that address now (code 3, server unavailable).
    await expect(gw()).rejects.toMatchObject({ code: 3 });
    const text = await metrics.getSingleMetricAsString('slopeguard_broker_refused_connections_total');
    expect(text).toContain('reason="address_backoff"} 1');
  });

  it('throttles a publisher over its message rate: it waits, nothing is dropped', async () => {
    await start({ messagesPerSecond: 20, messageBurst: 5, maxThrottleMs: 1000 });
    const c = await gw();
    const t0 = performance.now();
    // 5 go through at once (burst), then one per 50 ms: the 8th is acknowledged after ~150 ms.
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        c.publishAsync(gatewayTopic('s1', 'g1', 'telemetry'), JSON.stringify(telemetry(i, [tilt('t', i)])), {
          qos: 1,
        }),
      ),
    );
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(await store.count()).toBe(8);
    expect(c.connected).toBe(true);
  });

  it('disconnects a publisher that would wait longer than maxThrottleMs; what it was not acked for stays with it', async () => {
    await start({ messagesPerSecond: 20, messageBurst: 5, maxThrottleMs: 200 });
    const c = await gw();
    const bye = closed(c);
    // The 10th would wait 250 ms > 200 ms: the connection is closed. (Unacknowledged publishes
    // stay pending in MQTT.js to be resent on reconnect, so count acks rather than await them.)
    let acked = 0;
    for (let i = 0; i < 10; i++) {
      c.publish(
        gatewayTopic('s1', 'g1', 'telemetry'),
        JSON.stringify(telemetry(i, [tilt('t', i)])),
        { qos: 1 },
        (err) => {
          if (!err) acked++;
        },
      );
    }
    await bye;
    expect(await rejected('rate')).toBe(1);
    expect(acked).toBeLessThan(10);
    expect(await store.count()).toBeGreaterThanOrEqual(acked);
  });
});
