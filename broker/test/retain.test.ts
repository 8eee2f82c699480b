import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { gatewayTopic, siteTopic } from '@slopeguard/core';
import type { MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerService, DeviceRegistry, Store } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, metricValue, telemetry, tilt, until } from './helpers.ts';

const HAS_MOSQUITTO = existsSync('/usr/bin/mosquitto_pub') && existsSync('/usr/bin/mosquitto_sub');

const status = (state: string) => JSON.stringify({ state, ts: 1_700_000_000_000 });
const level = (n: number) => JSON.stringify({ level: n, ts: 1_700_000_000_000, reasons: [] });

/** Issue 9 (retain) and issue 13: only status (gateway, own topic) and level (control center) are retained. */
describe('retain policy', () => {
  const bed = brokerBed('sg-retain-');
  let store: Store;
  let registry: DeviceRegistry;
  let broker: BrokerService;
  let metrics: Registry;
  const secrets: Record<string, string> = {};
  let ccPassword: string;
  const open: MqttClient[] = [];

  beforeAll(async () => {
    ({ store, registry } = bed.open());
    secrets['s1.g1'] = registry.addDevice('s1', 'g1');
    secrets['s1.g2'] = registry.addDevice('s1', 'g2');
    ccPassword = registry.addAccount('control-center', { role: 'control-center' });
    metrics = bed.metrics;
    broker = await bed.start();
  });
  afterAll(() => bed.close(open));

  async function as(username: string, password = secrets[username], clientId = username) {
    const c = await connect(broker.port, { username, password, clientId });
    open.push(c);
    return c;
  }
  /** What the broker holds retained under slopeguard/v1/# (its persistence, read directly). */
  async function retained(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    // `persistence` is an Aedes field missing from its type declarations.
    const persistence = (
      broker.aedes as unknown as { persistence: { createRetainedStream(p: string): unknown } }
    ).persistence;
    const stream = persistence.createRetainedStream('slopeguard/v1/#') as AsyncIterable<{
      topic: string;
      payload: Buffer;
    }>;
    for await (const p of stream) {
      out[p.topic] = p.payload.toString();
    }
    return out;
  }

  it('keeps a retained status and level; clears the flag on telemetry, event and cmd/ack (still delivered, counted)', async () => {
    const g1 = await as('s1.g1');
    const cc = await as('control-center', ccPassword, 'control-center-1');
    const live = await as('control-center', ccPassword, 'control-center-live');
    const seen: { topic: string; retain: boolean }[] = [];
    live.on('message', (topic, _p, packet) => seen.push({ topic, retain: packet.retain }));
    await live.subscribeAsync('slopeguard/v1/#', { qos: 1 });

    await g1.publishAsync(gatewayTopic('s1', 'g1', 'status'), status('online'), { qos: 1, retain: true });
    await cc.publishAsync(siteTopic('s1', 'level'), level(1), { qos: 1, retain: true });
    const event = JSON.stringify({ type: 'started', ts: 1_700_000_000_000, version: '1.0.0' });
    await g1.publishAsync(gatewayTopic('s1', 'g1', 'event'), event, { qos: 1, retain: true });
    await g1.publishAsync(
      gatewayTopic('s1', 'g1', 'telemetry'),
      JSON.stringify(telemetry(1, [tilt('m1', 1_700_000_000_000)])),
      { qos: 1, retain: true },
    );
    await g1.publishAsync(
      gatewayTopic('s1', 'g1', 'cmd/ack'),
      JSON.stringify({ id: 'c1', ok: true, ts: 1_700_000_000_000 }),
      {
        qos: 1,
        retain: true,
      },
    );

    expect(Object.keys(await retained()).sort()).toEqual([
      gatewayTopic('s1', 'g1', 'status'),
      siteTopic('s1', 'level'),
    ]);
    // The telemetry is stored all the same; the other messages were delivered live.
    expect(await store.count({ site: 's1' })).toBe(1);
    await until(() => seen.length >= 4);
    expect(seen.some((m) => m.topic.endsWith('/event'))).toBe(true);
    expect(seen.some((m) => m.topic.endsWith('/telemetry'))).toBe(true);
    expect(
      await metricValue(
        metrics,
        'slopeguard_broker_rejected_by_gateway_total',
        'site="s1",gateway="g1",reason="retain"',
      ),
    ).toBeGreaterThanOrEqual(2);
  });

  it('a zero-byte retained status from its owner clears it [MQTT-3.3.1-10]; from another gateway it is refused', async () => {
    const g1 = await as('s1.g1', secrets['s1.g1'], 's1.g1-clear');
    const g2 = await as('s1.g2');
    await g1.publishAsync(gatewayTopic('s1', 'g1', 'status'), status('online'), { qos: 1, retain: true });
    await g2.publishAsync(gatewayTopic('s1', 'g2', 'status'), status('online'), { qos: 1, retain: true });
    // g2 may not touch g1's status (ACL): g1's stays.
    await g2.publishAsync(gatewayTopic('s1', 'g1', 'status'), '', { qos: 1, retain: true });
    expect(await retained()).toHaveProperty([gatewayTopic('s1', 'g1', 'status')]);
    await g1.publishAsync(gatewayTopic('s1', 'g1', 'status'), '', { qos: 1, retain: true });
    expect(await retained()).not.toHaveProperty([gatewayTopic('s1', 'g1', 'status')]);

    // A new subscriber to both gateways' status gets g2's retained status only.
    const fresh = await as('control-center', ccPassword, 'control-center-fresh');
    const got: string[] = [];
    fresh.on('message', (topic, _p, packet) => {
      if (packet.retain) got.push(topic);
    });
    await fresh.subscribeAsync('slopeguard/v1/s1/+/status', { qos: 1 });
    await until(() => got.length > 0);
    expect(got).toEqual([gatewayTopic('s1', 'g2', 'status')]);
  });

  it.skipIf(!HAS_MOSQUITTO)(
    'the control center clears a retained level with mosquitto_pub -r -n; mosquitto_sub then gets nothing',
    async () => {
      const cc = await as('control-center', ccPassword, 'control-center-lvl');
      await cc.publishAsync(siteTopic('s9', 'level'), level(2), { qos: 1, retain: true });
      const base = ['-h', '127.0.0.1', '-p', String(broker.port), '-u', 'control-center', '-P', ccPassword];
      const run = (cmd: string, args: string[]) =>
        new Promise<{ code: number; out: string }>((resolve) =>
          execFile(cmd, [...base, ...args], { timeout: 8000 }, (err, stdout) =>
            resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout }),
          ),
        );
      const sub = ['-t', siteTopic('s9', 'level'), '--retained-only', '-C', '1', '-W', '2'];
      // Before: the retained level is there (exit 0 with it); after clearing: nothing (timeout, 27).
      const before = await run('mosquitto_sub', ['-i', 'control-center-sub1', ...sub]);
      expect(before).toMatchObject({ code: 0 });
      expect(before.out).toContain('"level":2');
      expect(
        (
          await run('mosquitto_pub', [
            '-i',
            'control-center-pub',
            '-t',
            siteTopic('s9', 'level'),
            '-r',
            '-n',
            '-q',
            '1',
          ])
        ).code,
      ).toBe(0);
      const after = await run('mosquitto_sub', ['-i', 'control-center-sub2', ...sub]);
      expect(after).toMatchObject({ code: 27, out: '' });
    },
  );
});
