import { Writable } from 'node:stream';
import { gatewayTopic, type Reading } from '@slopeguard/core';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import type { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { deviceCommand } from '../../cli/commands/device.ts';
import type { BrokerService, DeviceRegistry, Limits, Store } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, telemetry, tilt } from './helpers.ts';

async function metricValue(registry: Registry, name: string, labels = ''): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(name) && !l.startsWith('#') && (labels === '' || l.includes(labels)));
  return line ? Number(line.split(' ').pop()) : 0;
}

/** Issue 9, medium findings: readings/s, sensor cardinality, clock skew, log flooding, secret rotation. */
describe('floods and rotation', () => {
  let bed: ReturnType<typeof brokerBed>;
  let store: Store;
  let registry: DeviceRegistry;
  let broker: BrokerService;
  let metrics: Registry;
  let secret: string;
  let secret2: string;
  let logLines: string[];
  const clients: MqttClient[] = [];

  async function start(limits: Partial<Limits> = {}) {
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logLines.push(...chunk.toString().split('\n').filter(Boolean));
        cb();
      },
    });
    broker = await bed.start({
      logger: pino({ level: 'warn' }, sink),
      auth: { registry, pollMs: 50 },
      limits,
    });
  }
  async function gw(username = 's1.g1', password = secret, clientId = username) {
    const c = await connect(broker.port, { username, password, clientId });
    clients.push(c);
    return c;
  }
  const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));
  const msg = (seq: number, readings: Reading[]) => JSON.stringify(telemetry(seq, readings));
  const T = gatewayTopic('s1', 'g1', 'telemetry');

  beforeEach(() => {
    bed = brokerBed('sg-flood-');
    ({ store, registry, metrics } = bed.open());
    secret = registry.addDevice('s1', 'g1');
    secret2 = registry.addDevice('s1', 'g2');
    logLines = [];
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await bed.close(clients.splice(0));
  });

  it('limits readings per second, not only messages: a 1,000-reading message over the budget closes the connection', async () => {
    await start({ readingsPerSecond: 100, readingBurst: 200, maxThrottleMs: 1000 });
    const c = await gw();
    const now = Date.now();
    const many = (n: number, base: number) =>
      Array.from({ length: n }, (_, i) => tilt(`m${i % 50}`, base + i));
    await c.publishAsync(T, msg(1, many(200, now - 10_000)), { qos: 1 }); // the burst
    const bye = closed(c);
    c.publish(T, msg(2, many(1000, now - 5000)), { qos: 1 }); // would wait 10 s > 1 s
    await bye;
    expect(await store.count()).toBe(200);
    expect(await metricValue(metrics, 'slopeguard_broker_rejected_total', 'reason="rate"')).toBe(1);
    // Another gateway has its own budget.
    const other = await gw('s1.g2', secret2);
    await other.publishAsync(gatewayTopic('s1', 'g2', 'telemetry'), msg(1, many(150, now)), { qos: 1 });
    expect(await store.count()).toBe(350);
  });

  it('bounds the sensors of a gateway: readings of further sensors are refused and counted, the rest stored', async () => {
    await start({ maxSensorsPerGateway: 3 });
    const c = await gw();
    const ts = Date.now() - 1000;
    await c.publishAsync(
      T,
      msg(
        1,
        ['a', 'b', 'c', 'd', 'e'].map((s) => tilt(s, ts)),
      ),
      { qos: 1 },
    );
    await c.publishAsync(T, msg(2, [tilt('a', ts + 1), tilt('f', ts + 1)]), { qos: 1 });
    expect(await store.count()).toBe(4); // a, b, c, then a again
    expect(
      await metricValue(
        metrics,
        'slopeguard_broker_readings_refused_total',
        'site="s1",gateway="g1",reason="sensors"',
      ),
    ).toBe(3);
    expect(logLines.some((l) => l.includes('beyond the gateway bound'))).toBe(true);
  });

  it('refuses readings more than maxClockSkewMs ahead of the broker clock, stores the others of the message', async () => {
    await start();
    const c = await gw();
    const now = Date.now();
    await c.publishAsync(
      T,
      msg(1, [tilt('m1', now), tilt('m2', now + 10 * 60_000), tilt('m3', 4_070_908_800_000)]), // 2099
      { qos: 1 },
    );
    expect(await store.count()).toBe(1);
    expect(
      await metricValue(
        metrics,
        'slopeguard_broker_readings_refused_total',
        'site="s1",gateway="g1",reason="future"',
      ),
    ).toBe(2);
    // The gauge says how far ahead (2099: about 73 years).
    expect(
      await metricValue(metrics, 'slopeguard_broker_gateway_clock_ahead_seconds', 'gateway="g1"'),
    ).toBeGreaterThan(2e9);
    // Once the gateway's clock is right again, the gauge says so.
    await c.publishAsync(T, msg(2, [tilt('m1', Date.now())]), { qos: 1 });
    expect(await metricValue(metrics, 'slopeguard_broker_gateway_clock_ahead_seconds', 'gateway="g1"')).toBe(
      0,
    );
  });

  it('a larger configured skew lets such readings through', async () => {
    await start({ maxClockSkewMs: 3_600_000 });
    const c = await gw();
    await c.publishAsync(T, msg(1, [tilt('m1', Date.now() + 10 * 60_000)]), { qos: 1 });
    expect(await store.count()).toBe(1);
  });

  it('clips attacker strings in refusal logs and caps the lines of a burst of distinct usernames', async () => {
    await start({ failedAuthBurst: 1 });
    const huge = `s1.${'x'.repeat(60_000)}`;
    await expect(
      connect(broker.port, { username: huge, password: 'p', clientId: huge }),
    ).rejects.toMatchObject({
      code: 2, // the client id is over maxClientIdLength
    });
    await Promise.allSettled(
      Array.from({ length: 150 }, (_, i) =>
        connect(broker.port, { username: `s1.u${i}-${'y'.repeat(1000)}`, password: 'p', clientId: `c${i}` }),
      ),
    );
    const refusals = logLines.filter((l) => l.includes('connection refused'));
    expect(Math.max(...logLines.map((l) => l.length))).toBeLessThan(1000);
    expect(refusals.some((l) => l.includes('(60003 chars)'))).toBe(true);
    // 151 refusals with distinct keys: at most 100 lines per 10 s window across keys.
    expect(refusals.length).toBeLessThanOrEqual(100);
    expect(await metricValue(metrics, 'slopeguard_broker_refused_connections_total')).toBeGreaterThan(0);
  });

  it('logs oversized packets once per burst, not once per connection', async () => {
    await start({ maxPacketBytes: 4096 });
    for (let i = 0; i < 5; i++) {
      const c = await gw('s1.g1', secret, `s1.g1-big${i}`);
      const bye = closed(c);
      c.publish(gatewayTopic('s1', 'g1', 'status'), 'x'.repeat(10_000), { qos: 0 });
      await bye;
    }
    expect(await metricValue(metrics, 'slopeguard_broker_rejected_total', 'reason="size"')).toBe(5);
    expect(logLines.filter((l) => l.includes('packet too large'))).toHaveLength(1);
  });

  it('`slopeguard device add --replace` (another registry connection, as the CLI) disconnects the old sessions', async () => {
    await start();
    const c = await gw();
    const bye = closed(c);
    vi.spyOn(console, 'log').mockImplementation(() => {});
    expect(
      await deviceCommand.run(['add', '--site', 's1', '--gateway', 'g1', '--replace', '--db', registry.path]),
    ).toBe(0);
    await bye;
    await expect(gw('s1.g1', secret, 's1.g1-old')).rejects.toMatchObject({ code: 4 });
  });

  it('replacing in-process disconnects at once', async () => {
    await start();
    const c = await gw();
    const bye = closed(c);
    const fresh = registry.addDevice('s1', 'g1', { replace: true });
    await bye;
    const again = await gw('s1.g1', fresh, 's1.g1-new');
    expect(again.connected).toBe(true);
  });
});
