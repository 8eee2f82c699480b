/**
 * The broker bench's load-generator client (bench/lean-mqtt.ts) against Debian's Mosquitto: what it
 * publishes arrives intact at an MQTT.js subscriber (topic, payload bytes, QoS 1), every PUBLISH gets
 * its PUBACK callback once, a refused CONNECT is an error, and a closed connection fails what is in
 * flight. The bench's figures rest on this client speaking MQTT.
 */
import { createServer } from 'node:net';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mosquitto, startMosquitto } from '../../control-center/test/mosquitto.ts';
import { connectLean } from '../lean-mqtt.ts';

let broker: Mosquitto;
let port: number;

beforeAll(async () => {
  broker = await startMosquitto();
  port = Number(new URL(broker.url).port);
});
afterAll(async () => {
  await broker?.stop();
});

describe('lean MQTT publisher (bench load generator)', () => {
  it('publishes QoS 1 messages that arrive intact, each acknowledged once', async () => {
    const sub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    const got: { topic: string; payload: string; qos: number }[] = [];
    sub.on('message', (topic, payload, packet) =>
      got.push({ topic, payload: payload.toString(), qos: packet.qos }),
    );
    await sub.subscribeAsync('bench/#', { qos: 1 });
    const pub = await connectLean({ host: '127.0.0.1', port, clientId: 'lean-test' });
    // Remaining lengths of 1, 2 and 3 bytes (< 128, < 16,384, larger), and a UTF-8 topic and payload.
    const sent = [
      { topic: 'bench/a', payload: '{"x":1}' },
      { topic: 'bench/b', payload: 'y'.repeat(300) },
      { topic: 'bench/산사태', payload: `{"note":"경계 ${'z'.repeat(20_000)}"}` },
      ...Array.from({ length: 200 }, (_, i) => ({ topic: `bench/g${i % 7}`, payload: `{"seq":${i}}` })),
    ];
    const acks = new Map<number, number>();
    await Promise.all(
      sent.map(
        (m, i) =>
          new Promise<void>((resolve, reject) =>
            pub.publish(m.topic, m.payload, (err) => {
              acks.set(i, (acks.get(i) ?? 0) + 1);
              if (err) reject(err);
              else resolve();
            }),
          ),
      ),
    );
    expect([...acks.values()].every((n) => n === 1)).toBe(true);
    expect(acks.size).toBe(sent.length);
    await expect.poll(() => got.length).toBe(sent.length);
    expect(got).toEqual(sent.map((m) => ({ ...m, qos: 1 })));
    await pub.end();
    await sub.endAsync();
  });

  it('refuses to start on a refused CONNECT, and fails publishes in flight when the connection closes', async () => {
    // A peer that answers CONNECT with return code 5 (not authorised), then one that closes after CONNACK.
    const refusing = createServer((s) => s.once('data', () => s.end(Buffer.from([0x20, 0x02, 0x00, 0x05]))));
    const closing = createServer((s) =>
      s.once('data', () => {
        s.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
        s.once('data', () => s.destroy());
      }),
    );
    const listen = (srv: ReturnType<typeof createServer>) =>
      new Promise<number>((resolve) =>
        srv.listen(0, '127.0.0.1', () => resolve((srv.address() as { port: number }).port)),
      );
    try {
      await expect(
        connectLean({ host: '127.0.0.1', port: await listen(refusing), clientId: 'x' }),
      ).rejects.toThrow(/connection refused \(CONNACK 0005\)/);
      const pub = await connectLean({ host: '127.0.0.1', port: await listen(closing), clientId: 'y' });
      const err = await new Promise<Error | undefined>((resolve) => pub.publish('t', '{}', resolve));
      expect(err?.message).toMatch(/connection closed|ECONNRESET/);
      await pub.end();
    } finally {
      refusing.close();
      closing.close();
    }
  });
});
