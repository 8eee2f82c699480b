import { gatewayTopic } from '@slopeguard/core';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerService, openSqliteStore, startBroker } from '../src/index.ts';
import type { Store } from '../src/store/types.ts';
import { silent, tempDir, until } from './helpers.ts';
import { type RedisServer, startRedis } from './redis-server.ts';

/**
 * Aedes 1.2.0 protocol defects, fixed in broker/src/aedes-fixes.ts; each test names the MQTT 3.1.1
 * clause. Run with every session store (memory, SQLite, and Redis as a cluster node uses it, on a
 * real redis-server), through the project's broker.
 */
const eventTopic = gatewayTopic('s1', 'g1', 'event');
const started = (version: string) => JSON.stringify({ type: 'started', ts: Date.now(), version });

/** Connects with the listeners in place before CONNACK (queued messages can come with it). */
function open(
  port: number,
  opts: IClientOptions,
  onMessage?: (packet: IPublishPacket) => void,
): Promise<{ client: MqttClient; sessionPresent: boolean }> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, ...opts });
    if (onMessage) client.on('message', (_t, _p, packet) => onMessage(packet));
    client.once('connect', (connack) => resolve({ client, sessionPresent: connack.sessionPresent }));
    client.once('error', reject);
  });
}

for (const kind of ['memory', 'sqlite', 'redis'] as const) {
  describe(`Aedes protocol fixes, ${kind} sessions`, () => {
    const tmp = tempDir();
    let store: Store | undefined;
    let broker: BrokerService | undefined;
    let redis: RedisServer | undefined;
    const clients: MqttClient[] = [];
    beforeAll(async () => {
      if (kind === 'redis') redis = await startRedis(tmp.dir);
    }, 60_000);
    afterAll(async () => {
      await store?.close();
      await redis?.stop();
      tmp.cleanup();
    });
    afterEach(async () => {
      for (const c of clients.splice(0)) c.end(true);
      await broker?.close();
      broker = undefined;
    });

    /** True once the broker has processed the client's disconnection. */
    const gone = (clientId: string) => () =>
      broker !== undefined &&
      !(broker.aedes as unknown as { clients: Record<string, unknown> }).clients[clientId];

    async function start(): Promise<number> {
      store ??= openSqliteStore(`${tmp.dir}/readings.sqlite`);
      broker = await startBroker({
        mqtt: { host: '127.0.0.1', port: 0 },
        store,
        logger: silent,
        allowAnonymous: true,
        ...(kind === 'sqlite' ? { persistence: { kind, path: `${tmp.dir}/sessions.sqlite` } } : {}),
        ...(kind === 'redis' && redis ? { cluster: { redis: redis.url } } : {}),
      });
      return broker.port;
    }

    it('redelivers an unacknowledged QoS 1 message with DUP=1, a first delivery with DUP=0 [MQTT-3.3.1-1]', async () => {
      const port = await start();
      const first: IPublishPacket[] = [];
      const sub = await open(port, { clientId: 'cc-dup', clean: false }, (p) => first.push(p));
      clients.push(sub.client);
      // Withhold the PUBACK: an error from handleMessage makes MQTT.js skip it.
      sub.client.handleMessage = (_packet, callback) => callback(new Error('PUBACK withheld'));
      await sub.client.subscribeAsync(eventTopic, { qos: 1 });
      const pub = await open(port, { clientId: 'pub-dup' });
      clients.push(pub.client);
      await pub.client.publishAsync(eventTopic, started('sent-once'), { qos: 1 });
      await until(() => first.length === 1);
      expect(first[0]?.dup).toBe(false);
      sub.client.end(true);
      await until(gone('cc-dup'));
      await pub.client.publishAsync(eventTopic, started('queued-offline'), { qos: 1 });

      const again: IPublishPacket[] = [];
      const back = await open(port, { clientId: 'cc-dup', clean: false }, (p) => again.push(p));
      clients.push(back.client);
      await until(() => again.length === 2);
      const dupOf = (version: string) =>
        again.find((p) => (JSON.parse(p.payload.toString()) as { version: string }).version === version)?.dup;
      expect(dupOf('sent-once')).toBe(true);
      expect(dupOf('queued-offline')).toBe(false);
    });

    it('answers Session Present 1 for an existing session without subscriptions [MQTT-3.2.2-2]', async () => {
      let port = await start();
      const connect = async (clean: boolean) => {
        const c = await open(port, { clientId: 'gw-sp', clean });
        await c.client.endAsync();
        await until(gone('gw-sp'));
        return c.sessionPresent;
      };
      expect(await connect(false)).toBe(false); // new session [MQTT-3.2.2-3]
      expect(await connect(false)).toBe(true); // it exists, although it has no subscription
      expect(await connect(true)).toBe(false); // clean session [MQTT-3.2.2-1] discards it [MQTT-3.1.2-6]
      expect(await connect(false)).toBe(false);
      expect(await connect(false)).toBe(true);
      if (kind !== 'memory') {
        // The session survives a broker restart with the SQLite or Redis store, and so does its mark.
        await broker?.close();
        port = await start();
        expect(await connect(false)).toBe(true);
      }
    });

    it('a session with subscriptions still gets them back, and Session Present 1', async () => {
      const port = await start();
      const sub = await open(port, { clientId: 'cc-subs', clean: false });
      await sub.client.subscribeAsync(eventTopic, { qos: 1 });
      await sub.client.endAsync();
      await until(gone('cc-subs'));
      const got: IPublishPacket[] = [];
      const back = await open(port, { clientId: 'cc-subs', clean: false }, (p) => got.push(p));
      clients.push(back.client);
      expect(back.sessionPresent).toBe(true);
      const pub = await open(port, { clientId: 'pub-subs' });
      clients.push(pub.client);
      await pub.client.publishAsync(eventTopic, started('live'), { qos: 1 });
      await until(() => got.length === 1);
    });
  });
}
