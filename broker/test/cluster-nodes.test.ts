import { gatewayTopic } from '@slopeguard/core';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisRegistry, type RedisDeviceRegistry } from '../src/auth/redis-registry.ts';
import { type BrokerService, openSqliteStore, startBroker } from '../src/index.ts';
import type { Store } from '../src/store/types.ts';
import { connect, silent, tempDir, until } from './helpers.ts';
import { type RedisServer, startRedis } from './redis-server.ts';

/**
 * Two broker nodes in one process on a real redis-server: one broker for their clients (routing,
 * sessions and queues, the registry). The failover across processes, with HAProxy and InfluxDB, is
 * cluster.test.ts.
 */
describe('two broker nodes on one Redis', () => {
  const tmp = tempDir('sg-cluster-nodes-');
  let redis: RedisServer;
  const registries: RedisDeviceRegistry[] = [];
  const stores: Store[] = [];
  const nodes: BrokerService[] = [];
  const clients: MqttClient[] = [];
  let gwSecret = '';
  let ccPassword = '';

  beforeAll(async () => {
    redis = await startRedis(tmp.dir);
    for (const name of ['a', 'b']) {
      const registry = await openRedisRegistry({ url: redis.url });
      const store = openSqliteStore(`${tmp.dir}/readings-${name}.sqlite`);
      registries.push(registry);
      stores.push(store);
      nodes.push(
        await startBroker({
          id: `node-${name}`,
          mqtt: { host: '127.0.0.1', port: 0 },
          store,
          logger: silent,
          auth: { registry, pollMs: 50 },
          cluster: { redis: redis.url },
        }),
      );
    }
    const [a, b] = registries;
    gwSecret = a?.addDevice('s1', 'g1') ?? '';
    ccPassword = a?.addAccount('control-center', { role: 'control-center' }) ?? '';
    await a?.flush();
    await b?.sync();
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) c.end(true);
    for (const n of nodes) await n.close();
    for (const s of stores) await s.close();
    for (const r of registries) r.close();
    await redis?.stop();
    tmp.cleanup();
  });

  const port = (i: number) => nodes[i]?.port ?? 0;
  const eventTopic = gatewayTopic('s1', 'g1', 'event');
  const event = (n: number) => JSON.stringify({ type: 'started', ts: Date.now(), version: `${n}` });
  const numberOf = (payload: Buffer) =>
    Number((JSON.parse(payload.toString()) as { version: string }).version);
  const cc: IClientOptions = { username: 'control-center', clientId: 'control-center-1', clean: false };

  /** Connects with the message listener in place before CONNACK (queued messages come with it). */
  function subscriber(p: number, got: number[]): Promise<{ client: MqttClient; sessionPresent: boolean }> {
    return new Promise((resolve, reject) => {
      const client = mqtt.connect({
        host: '127.0.0.1',
        port: p,
        reconnectPeriod: 0,
        ...cc,
        password: ccPassword,
      });
      clients.push(client);
      client.on('message', (_t, payload) => got.push(numberOf(payload)));
      client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent }));
      client.once('error', reject);
    });
  }

  it('routes a publish on one node to a subscriber on the other, and keeps its queue across nodes', async () => {
    const got: number[] = [];
    const sub = await subscriber(port(1), got);
    await sub.client.subscribeAsync(eventTopic, { qos: 1 });
    const gw = await connect(port(0), { username: 's1.g1', password: gwSecret, clientId: 's1.g1' });
    clients.push(gw);
    for (let i = 0; i < 5; i++) await gw.publishAsync(eventTopic, event(i), { qos: 1 });
    await until(() => got.length === 5);

    // Offline: the messages wait in its queue in Redis, and the other node hands them over.
    await sub.client.endAsync();
    for (let i = 5; i < 10; i++) await gw.publishAsync(eventTopic, event(i), { qos: 1 });
    const back = await subscriber(port(0), got);
    expect(back.sessionPresent).toBe(true);
    await until(() => got.length === 10);
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await back.client.endAsync();
    gw.end(true);
  });

  it('a revocation on one node disconnects the device on the other node', async () => {
    const secret = registries[0]?.addDevice('s2', 'g1') ?? '';
    await registries[0]?.flush();
    await registries[1]?.sync();
    const gw = await connect(port(1), { username: 's2.g1', password: secret, clientId: 's2.g1' });
    clients.push(gw);
    const closed = new Promise<void>((resolve) => gw.once('close', () => resolve()));
    expect(registries[0]?.revoke('s2.g1')).toBe(true);
    await closed;
    await expect(
      connect(port(1), { username: 's2.g1', password: secret, clientId: 's2.g1' }),
    ).rejects.toMatchObject({ code: 4 });
  });
});
