import { gatewayTopic } from '@slopeguard/core';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDeviceRegistry, openSqliteStore } from '../src/index.ts';
import { type ChildBroker, startChildBroker } from './child.ts';
import { connect, telemetry, tempDir, tilt, until } from './helpers.ts';

/**
 * Acceptance 5: QoS 1 messages in flight when the broker stops are delivered after it restarts.
 * The broker runs in a child process and is killed with SIGKILL (no shutdown code runs), then a
 * new process starts on the same files and the same port.
 */
describe('broker restart with on-disk sessions (acceptance 5)', () => {
  const tmp = tempDir();
  let gwSecret: string;
  let ccPassword: string;
  let broker: ChildBroker | undefined;

  beforeAll(() => {
    const registry = openDeviceRegistry(`${tmp.dir}/registry.sqlite`);
    gwSecret = registry.addDevice('s1', 'g1');
    ccPassword = registry.addAccount('control-center', { role: 'control-center' });
    registry.close();
  });
  afterAll(async () => {
    await broker?.kill9();
    tmp.cleanup();
  });

  it('keeps queued and unacknowledged QoS 1 messages and every acknowledged reading across kill -9', async () => {
    broker = await startChildBroker({ dir: tmp.dir });
    const port = broker.port;
    // Valid `started` events (the contract's schemas are closed); `version` carries the number.
    const events = (n: number, from = 0) =>
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ type: 'started', ts: Date.now(), version: `${from + i}` }),
      );
    const numberOf = (payload: Buffer | string) =>
      Number((JSON.parse(payload.toString()) as { version: string }).version);
    const eventTopic = gatewayTopic('s1', 'g1', 'event');
    const ccOptions = { username: 'control-center', password: ccPassword, clean: false };

    // Subscriber A: persistent session, online, receives but never acknowledges (PUBACK withheld).
    const received: number[] = [];
    const a = await connect(port, { ...ccOptions, clientId: 'control-center-a' });
    // An error from handleMessage makes MQTT.js skip the PUBACK (and go on with the next packet):
    // the messages stay in flight at the broker.
    a.handleMessage = (packet, callback) => {
      received.push(numberOf(packet.payload));
      callback(new Error('PUBACK withheld'));
    };
    await a.subscribeAsync(eventTopic, { qos: 1 });
    // Subscriber B: persistent session, offline while messages are published.
    const b = await connect(port, { ...ccOptions, clientId: 'control-center-b' });
    await b.subscribeAsync(eventTopic, { qos: 1 });
    await b.endAsync();

    const gw = await connect(port, { username: 's1.g1', password: gwSecret, clientId: 's1.g1' });
    for (const p of events(20)) await gw.publishAsync(eventTopic, p, { qos: 1 });
    let acked = 0;
    for (let i = 0; i < 50; i++) {
      await gw.publishAsync(
        gatewayTopic('s1', 'g1', 'telemetry'),
        JSON.stringify(telemetry(i, [tilt('t1', 1_000 + i), tilt('t2', 1_000 + i)])),
        { qos: 1 },
      );
      acked += 2;
    }
    await until(() => received.length === 20, 30_000);

    await broker.kill9();
    a.end(true);
    gw.end(true);

    // Every reading the broker acknowledged is in the store, although the process never shut down.
    const store = openSqliteStore(`${tmp.dir}/readings.sqlite`);
    expect(await store.count()).toBe(acked);
    await store.close();

    broker = await startChildBroker({ dir: tmp.dir, port });
    // Thirty more while both subscribers are offline: queued next to the old ones, not over them
    // (queue keys are (broker id, counter); the counter restarts, so the id must not repeat).
    const gw2 = await connect(port, { username: 's1.g1', password: gwSecret, clientId: 's1.g1' });
    for (const p of events(30, 20)) await gw2.publishAsync(eventTopic, p, { qos: 1 });
    await gw2.endAsync();
    const redelivered = async (clientId: string) => {
      const got = new Set<number>();
      // The listener must be there before CONNACK: the queued messages can arrive in the same TCP
      // read as the CONNACK, and MQTT.js handles (and acknowledges) them before an `await connect()`
      // resumes. Registered afterwards, it missed the first 8-16 under CPU load (the "loss").
      const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, ...ccOptions, clientId });
      c.on('message', (_t, payload) => got.add(numberOf(payload)));
      await new Promise((resolve, reject) => {
        c.once('connect', resolve);
        c.once('error', reject);
      });
      await until(() => got.size === 50, 30_000).catch(() => undefined);
      await c.endAsync();
      return [...got].sort((x, y) => x - y);
    };
    const all = Array.from({ length: 50 }, (_, i) => i);
    // [MQTT-4.4.0-1]: unacknowledged messages are resent to the session on reconnect.
    expect(await redelivered('control-center-a')).toEqual(all);
    expect(await redelivered('control-center-b')).toEqual(all);
  }, 180_000);
});
