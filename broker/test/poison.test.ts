import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gatewayTopic } from '@slopeguard/core';
import type { MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerService, Store, StoredReading } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, telemetry, tilt, until } from './helpers.ts';

const HAS_MOSQUITTO_PUB = existsSync('/usr/bin/mosquitto_pub');

/**
 * A real SQLite store that throws (a plain error, not SG_ERR_STORE_REJECTED) on any batch holding
 * a reading of sensor `poison`: what the issue saw when JSON.stringify hit a 100,000-deep value.
 * The contract's closed schemas now refuse such values before they reach a store; this stands in
 * for whatever a store may still be unable to take.
 */
function poisonable(store: Store) {
  const state = { poisonedWrites: 0 };
  const wrapped: Store = {
    ...store,
    async write(batch: readonly StoredReading[]) {
      if (batch.some((r) => r.sensor === 'poison')) {
        state.poisonedWrites++;
        throw new RangeError('Maximum call stack size exceeded (test)');
      }
      return store.write(batch);
    },
  };
  return { store: wrapped, state };
}

function mosquittoPub(port: number, args: string[]): Promise<number> {
  return new Promise((resolve) => {
    execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 8000 }, (err) =>
      resolve(err ? (typeof err.code === 'number' ? err.code : 1) : 0),
    );
  });
}

async function metricValue(registry: Registry, name: string, labels: string): Promise<number> {
  const text = await registry.getSingleMetricAsString(name);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('a message the store cannot take (issue 9, critical 1)', () => {
  let bed: ReturnType<typeof brokerBed>;
  let sqlite: Store;
  let broker: BrokerService;
  let metrics: Registry;
  let secrets: Record<string, string>;
  const clients: MqttClient[] = [];

  beforeEach(async () => {
    bed = brokerBed('sg-poison-');
    const { store, registry } = bed.open();
    sqlite = store;
    metrics = bed.metrics;
    secrets = { 's1.g1': registry.addDevice('s1', 'g1'), 's2.g1': registry.addDevice('s2', 'g1') };
  });
  afterEach(() => bed.close(clients.splice(0)));

  async function start(store: Store) {
    broker = await bed.start({
      store,
      recorder: { spillPath: `${bed.dir}/spill.jsonl`, retryMinMs: 20, retryMaxMs: 100 },
    });
  }
  async function gateway(username: string) {
    const c = await connect(broker.port, { username, password: secrets[username], clientId: username });
    clients.push(c);
    return c;
  }
  const poisonPayload = JSON.stringify(telemetry(1, [tilt('poison', 1_700_000_000_000), tilt('ok', 1)]));

  it.skipIf(!HAS_MOSQUITTO_PUB)(
    'acknowledges and sets aside the poisoned message; other gateways are stored and acknowledged; close() returns',
    async () => {
      const p = poisonable(sqlite);
      await start(p.store);
      const other = await gateway('s2.g1');
      // The poison comes from mosquitto_pub at QoS 1: it exits 0 only after the PUBACK.
      const poisoned = mosquittoPub(broker.port, [
        ...['-u', 's1.g1', '-P', secrets['s1.g1'] as string, '-i', 's1.g1'],
        ...['-q', '1', '-t', gatewayTopic('s1', 'g1', 'telemetry'), '-m', poisonPayload],
      ]);
      await until(() => p.state.poisonedWrites > 0);
      const acks = Array.from({ length: 20 }, (_, i) =>
        other.publishAsync(
          gatewayTopic('s2', 'g1', 'telemetry'),
          JSON.stringify(telemetry(i, [tilt('m1', 1_700_000_000_000 + i)])),
          { qos: 1 },
        ),
      );
      await Promise.all(acks);
      expect(await poisoned).toBe(0);
      expect(await sqlite.count({ site: 's2' })).toBe(20);
      // The whole poisoned message is set aside (its good reading too: a message is one unit).
      expect(await sqlite.count({ site: 's1' })).toBe(0);
      expect(readFileSync(`${bed.dir}/spill.jsonl.rejected`, 'utf8')).toContain('"sensor":"poison"');
      expect(await metricValue(metrics, 'slopeguard_broker_rejected_total', 'reason="store_rejected"')).toBe(
        1,
      );
      expect(
        await metricValue(
          metrics,
          'slopeguard_broker_rejected_by_gateway_total',
          'site="s1",gateway="g1",reason="store_rejected"',
        ),
      ).toBe(1);
      expect(broker.recorder.pending).toBe(0);
      // Nothing is left retrying: close() does not wait for the 10 s close timeout.
      const writesBefore = p.state.poisonedWrites;
      await broker.close();
      expect(p.state.poisonedWrites).toBe(writesBefore);
    },
  );

  it('a gateway whose poisoned message is alone in its batch is not blocked: its next messages are stored', async () => {
    const p = poisonable(sqlite);
    await start(p.store);
    const g = await gateway('s1.g1');
    const topic = gatewayTopic('s1', 'g1', 'telemetry');
    const first = g.publishAsync(topic, poisonPayload, { qos: 1 });
    await until(() => p.state.poisonedWrites > 0);
    // MQTT.js sends these while the first is unacknowledged (several QoS 1 messages in flight).
    const next = Array.from({ length: 5 }, (_, i) =>
      g.publishAsync(topic, JSON.stringify(telemetry(2 + i, [tilt('m1', 1_700_000_000_100 + i)])), {
        qos: 1,
      }),
    );
    await Promise.all([first, ...next]);
    expect(await sqlite.count()).toBe(5);
    expect(await metricValue(metrics, 'slopeguard_broker_rejected_total', 'reason="store_rejected"')).toBe(1);
  });

  it('the SQLite store itself refuses a value it cannot serialise as SG_ERR_STORE_REJECTED, and stays usable', async () => {
    broker = await bed.start();
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const bad = { ...tilt('deep', 1), site: 's1', gateway: 'g1', values: { x: 1, y: 1, z: deep } };
    await expect(sqlite.write([bad as unknown as StoredReading])).rejects.toMatchObject({
      code: 'SG_ERR_STORE_REJECTED',
    });
    await sqlite.write([{ ...tilt('m1', 2), site: 's1', gateway: 'g1' }]);
    expect(await sqlite.count()).toBe(1);
  });
});
