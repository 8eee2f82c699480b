import { gatewayTopic } from '@slopeguard/core';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerService } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, telemetry, tilt, until } from './helpers.ts';

async function value(registry: Registry, name: string, labels = ''): Promise<number | undefined> {
  const text = await registry.getSingleMetricAsString(name);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(labels ? `${name}{` : `${name} `) && l.includes(labels));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describe('broker metrics', () => {
  const bed = brokerBed('sg-metrics-');
  const registry: Registry = bed.metrics;
  let broker: BrokerService;

  beforeAll(async () => {
    bed.open();
    broker = await bed.start({ allowAnonymous: true });
  });
  afterAll(() => bed.close());

  it('counts connections, messages in and out, last seen and seq gaps per gateway', async () => {
    const sub = await connect(broker.port, { clientId: 'watcher' });
    let delivered = 0;
    sub.on('message', () => delivered++);
    await sub.subscribeAsync('slopeguard/v1/#', { qos: 1 });
    const gw = await connect(broker.port, { clientId: 's1.g1' });
    expect(await value(registry, 'slopeguard_broker_connections')).toBe(2);

    const topic = gatewayTopic('s1', 'g1', 'telemetry');
    const before = Date.now() / 1000;
    // seq 0, 1, then 4 (2 and 3 missing), then 2 (late: not a new gap).
    for (const seq of [0, 1, 4, 2]) {
      await gw.publishAsync(topic, JSON.stringify(telemetry(seq, [tilt('t1', 1000 + seq)])), { qos: 1 });
    }
    await gw.publishAsync(gatewayTopic('s1', 'g1', 'status'), JSON.stringify({ state: 'online', ts: 1 }), {
      qos: 1,
    });
    await until(() => delivered === 5);

    expect(await value(registry, 'slopeguard_broker_seq_gaps_total', 'gateway="g1"')).toBe(2);
    expect(await value(registry, 'slopeguard_broker_messages_in_total', 'channel="telemetry"')).toBe(4);
    expect(await value(registry, 'slopeguard_broker_messages_in_total', 'channel="status"')).toBe(1);
    expect(await value(registry, 'slopeguard_broker_messages_out_total')).toBeGreaterThanOrEqual(5);
    expect(await value(registry, 'slopeguard_broker_readings_stored_total')).toBe(4);
    const seen = await value(registry, 'slopeguard_broker_gateway_last_seen_seconds', 'gateway="g1"');
    expect(seen).toBeGreaterThanOrEqual(Math.floor(before));

    await gw.endAsync();
    await until(async () => (await value(registry, 'slopeguard_broker_connections')) === 1);
    await sub.endAsync();
  });
});
