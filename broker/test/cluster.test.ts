import { once } from 'node:events';
import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedisRegistry } from '../src/auth/redis-registry.ts';
import { openInflux1Store } from '../src/store/influx1.ts';
import type { Store } from '../src/store/types.ts';
import { DATABASE, type ClusterNode as Node, startClusterNode as startNode } from './cluster-node.ts';
import { type Haproxy, startHaproxy } from './haproxy.ts';
import { telemetry, tempDir, tilt, until } from './helpers.ts';
import { type Influxd, startInfluxd } from './influxd.ts';
import { type RedisServer, startRedis } from './redis-server.ts';

/**
 * Acceptance 4 of issue 13: two broker nodes as one broker (`slopeguard server` processes with
 * `cluster:` in server.yaml), Redis for routing, sessions and the registry, HAProxy in front, the
 * shared InfluxDB behind; every part a real server on a free loopback port with its files in a
 * temporary directory. The gateway's node is killed with SIGKILL while the gateway publishes.
 */
describe('broker cluster: two nodes, Redis, HAProxy, InfluxDB (issue 13, acceptance 4)', () => {
  const tmp = tempDir('sg-cluster-');
  let redis: RedisServer;
  let influxd: Influxd;
  let haproxy: Haproxy;
  const nodes: Node[] = [];
  let store: Store;
  const clients: MqttClient[] = [];
  let gwSecret = '';
  let ccPassword = '';

  beforeAll(async () => {
    redis = await startRedis(tmp.dir);
    influxd = await startInfluxd(join(tmp.dir, 'influxd'));
    // Provisioning as an operator does it: through the shared registry, before the nodes start.
    const registry = await openRedisRegistry({ url: redis.url });
    gwSecret = registry.addDevice('s1', 'g1');
    ccPassword = registry.addAccount('control-center', { role: 'control-center' });
    await registry.flush();
    registry.close();
    nodes.push(
      ...(await Promise.all(['n1', 'n2'].map((n) => startNode(tmp.dir, n, redis.url, influxd.url)))),
    );
    haproxy = await startHaproxy(tmp.dir, Object.fromEntries(nodes.map((n) => [n.name, n.port])));
    await until(async () => Object.values(await haproxy.sessions()).every((s) => s.status === 'UP'), 30_000);
    store = await openInflux1Store({ url: influxd.url, database: DATABASE });
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) c.end(true);
    for (const n of nodes) {
      if (n.proc.exitCode === null && n.proc.signalCode === null) {
        const exited = once(n.proc, 'exit');
        n.proc.kill('SIGTERM');
        await exited;
      }
    }
    await store?.close();
    await haproxy?.stop();
    await influxd?.stop();
    await redis?.stop();
    tmp.cleanup();
  }, 60_000);

  /** The node a new connection landed on: the one whose session count went up in HAProxy. */
  async function landedOn(before: Record<string, { sessions: number }>): Promise<string> {
    return until(async () => {
      const now = await haproxy.sessions();
      return Object.keys(now).find((n) => (now[n]?.sessions ?? 0) > (before[n]?.sessions ?? 0));
    });
  }

  function open(opts: IClientOptions, onMessage?: (payload: Buffer) => void): Promise<MqttClient> {
    return new Promise((resolvePromise, reject) => {
      const client = mqtt.connect({ host: '127.0.0.1', port: haproxy.port, ...opts });
      clients.push(client);
      if (onMessage) client.on('message', (_t, payload) => onMessage(payload));
      client.once('connect', () => resolvePromise(client));
      client.once('error', reject);
    });
  }

  it('loses no acknowledged reading or event when the gateway node is killed, and revokes on every node', async () => {
    const eventTopic = gatewayTopic('s1', 'g1', 'event');
    const telemetryTopic = gatewayTopic('s1', 'g1', 'telemetry');
    const numberOf = (payload: Buffer) =>
      Number((JSON.parse(payload.toString()) as { version: string }).version);

    // The gateway through HAProxy: a persistent session that reconnects by itself, as edge/ does.
    let before = await haproxy.sessions();
    const gw = await open({
      username: 's1.g1',
      password: gwSecret,
      clientId: 's1.g1',
      clean: false,
      reconnectPeriod: 100,
      connectTimeout: 5000,
    });
    const gwNode = await landedOn(before);

    // The control center's persistent session, on the other node (round robin sends it there).
    const received = new Set<number>();
    const ccOptions = {
      username: 'control-center',
      password: ccPassword,
      clientId: 'control-center-t',
      clean: false,
      reconnectPeriod: 0,
    };
    before = await haproxy.sessions();
    let cc = await open(ccOptions, (p) => received.add(numberOf(p)));
    const ccNode = await landedOn(before);
    expect(ccNode).not.toBe(gwNode);
    await cc.subscribeAsync(eventTopic, { qos: 1 });

    // Publish readings (one per message, a distinct timestamp each) and now and then an event;
    // remember what the broker acknowledged.
    const base = Date.now() - 600_000;
    const ackedReadings: number[] = [];
    const ackedEvents: number[] = [];
    let killedAt = 0;
    let firstAckAfterKill = 0;
    const TOTAL = 400;
    const publishes: Promise<void>[] = [];
    for (let i = 0; i < TOTAL; i++) {
      const ts = base + i;
      publishes.push(
        gw
          .publishAsync(telemetryTopic, JSON.stringify(telemetry(i, [tilt('t1', ts)])), { qos: 1 })
          .then(() => {
            ackedReadings.push(ts);
            if (killedAt > 0 && firstAckAfterKill === 0) firstAckAfterKill = Date.now();
          }),
      );
      if (i % 10 === 0) {
        const n = i / 10;
        publishes.push(
          gw
            .publishAsync(eventTopic, JSON.stringify({ type: 'started', ts: Date.now(), version: `${n}` }), {
              qos: 1,
            })
            .then(() => {
              ackedEvents.push(n);
            }),
        );
      }
      // Kill the gateway's node part-way, with messages in flight.
      if (i === 150) {
        await until(() => ackedReadings.length >= 100, 30_000);
        const victim = nodes.find((n) => n.name === gwNode);
        victim?.proc.kill('SIGKILL');
        killedAt = Date.now();
        if (victim) await once(victim.proc, 'exit');
      }
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    // The gateway reconnects through HAProxy to the survivor and its unacknowledged messages go
    // again (MQTT.js resends them, DUP set); everything gets acknowledged there.
    await Promise.all(publishes);
    expect(ackedReadings).toHaveLength(TOTAL);
    expect(ackedEvents).toHaveLength(TOTAL / 10);
    const survivor = await haproxy.sessions();
    expect(survivor[ccNode]?.sessions).toBeGreaterThanOrEqual(2);
    console.info(`cluster failover: first PUBACK ${firstAckAfterKill - killedAt} ms after SIGKILL`);

    // Every acknowledged reading is in InfluxDB exactly once (one per millisecond bucket).
    const buckets = await until(async () => {
      const b = await store.range({ site: 's1', sensor: 't1', from: base, to: base + TOTAL, stepMs: 1 });
      return b.length >= TOTAL ? b : undefined;
    }, 30_000);
    expect(buckets.map((b) => b.start).sort((x, y) => x - y)).toEqual(ackedReadings.sort((x, y) => x - y));
    expect(buckets.every((b) => b.count === 1)).toBe(true);

    // Every acknowledged event reached the control center's session: live, or, for one queued
    // by the dead node but not yet routed, from its queue in Redis at the next connection.
    await until(() => ackedEvents.every((n) => received.has(n)), 5000).catch(() => undefined);
    if (!ackedEvents.every((n) => received.has(n))) {
      await cc.endAsync();
      cc = await open(ccOptions, (p) => received.add(numberOf(p)));
      await until(() => ackedEvents.every((n) => received.has(n)), 30_000);
    }
    expect([...received].sort((x, y) => x - y)).toEqual(ackedEvents.sort((x, y) => x - y));

    // Revoked through another registry handle (as the CLI on any machine would): the node the
    // gateway is on now closes its session.
    const closed = new Promise<void>((r) => gw.once('close', () => r()));
    gw.options.reconnectPeriod = 0;
    const registry = await openRedisRegistry({ url: redis.url });
    expect(registry.revoke('s1.g1')).toBe(true);
    await registry.flush();
    registry.close();
    await closed;
  }, 240_000);
});
