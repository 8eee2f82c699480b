import { gatewayFilter, gatewayTopic } from '@slopeguard/core';
import type { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BrokerService, type Store, startBroker } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, silent, telemetry, tilt, until } from './helpers.ts';

describe('broker (anonymous test mode): telemetry to the store', () => {
  let bed: ReturnType<typeof brokerBed>;
  let store: Store;
  let broker: BrokerService;
  let registry: Registry;

  beforeEach(async () => {
    // The store's file in a directory that does not exist yet: the store creates it.
    bed = brokerBed('sg-broker-', { storeFile: 'db/readings.sqlite' });
    ({ store, metrics: registry } = bed.open());
    broker = await bed.start({ allowAnonymous: true });
  });
  afterEach(() => bed.close());

  it('stores valid readings before PUBACK: publishAsync resolving means count() sees them', async () => {
    const client = await connect(broker.port);
    const topic = gatewayTopic('s1', 'g1', 'telemetry');
    await client.publishAsync(topic, JSON.stringify(telemetry(0, [tilt('t1', 1000), tilt('t2', 1000)])), {
      qos: 1,
    });
    // No wait: PUBACK (which resolved publishAsync) is sent only after the transaction committed.
    expect(await store.count()).toBe(2);
    await client.publishAsync(topic, JSON.stringify(telemetry(1, [tilt('t1', 1000)])), { qos: 1 });
    expect(await store.count()).toBe(2); // the same (site, sensor, ts) is stored once
    const metrics = await registry.getSingleMetricAsString('slopeguard_broker_readings_stored_total');
    expect(metrics).toContain('slopeguard_broker_readings_stored_total 3');
    await client.endAsync();
  });

  it('coalesces concurrent messages (group commit) and acknowledges each', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map(() => connect(broker.port)));
    await Promise.all(
      clients.flatMap((c, i) =>
        Array.from({ length: 25 }, (_, k) =>
          c.publishAsync(
            gatewayTopic('s1', `g${i}`, 'telemetry'),
            JSON.stringify(telemetry(k, [tilt(`t${i}`, 1000 + k)])),
            { qos: 1 },
          ),
        ),
      ),
    );
    expect(await store.count()).toBe(100);
    const hist = await registry.getSingleMetricAsString('slopeguard_broker_store_write_seconds');
    const writes = Number(/slopeguard_broker_store_write_seconds_count (\d+)/.exec(hist)?.[1]);
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThan(100);
    await Promise.all(clients.map((c) => c.endAsync()));
  });

  it('acknowledges an invalid payload without disconnecting, stores and forwards nothing, counts it', async () => {
    const watcher = await connect(broker.port);
    const seen: string[] = [];
    watcher.on('message', (t) => seen.push(t));
    await watcher.subscribeAsync([gatewayFilter('#'), '#'], { qos: 1 });
    const client = await connect(broker.port);
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    const topic = gatewayTopic('s1', 'g1', 'telemetry');
    await client.publishAsync(topic, 'not json {', { qos: 1 });
    await client.publishAsync(topic, JSON.stringify({ seq: 1, readings: [{ sensor: 'BAD ID' }] }), {
      qos: 1,
    });
    await client.publishAsync('elsewhere/topic', '{}', { qos: 1 });
    // A valid message after them is delivered: it marks the point where the others would have been.
    await client.publishAsync(topic, JSON.stringify(telemetry(2, [tilt('t1', 5)])), { qos: 1 });
    await until(() => seen.length >= 1);
    expect(seen).toEqual([topic]);
    expect(closed).toBe(false);
    expect(await store.count()).toBe(1);
    const rejected = await registry.getSingleMetricAsString('slopeguard_broker_rejected_total');
    expect(rejected).toContain('reason="not_json"} 1');
    expect(rejected).toContain('reason="schema"} 1');
    expect(rejected).toContain('reason="topic"} 1');
    await client.endAsync();
    await watcher.endAsync();
  });

  it('refuses every client when neither auth nor allowAnonymous is configured', async () => {
    const locked = await startBroker({ mqtt: { host: '127.0.0.1', port: 0 }, store, logger: silent });
    await expect(connect(locked.port)).rejects.toThrow();
    await locked.close();
  });
});
