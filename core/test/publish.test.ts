import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mosquitto, startMosquitto } from '../../edge/test/mosquitto.ts';
import { contractMessage, contractPublisher, decode } from '../src/publish.ts';
import { gatewayTopic, siteTopic, systemTopic, type Topic } from '../src/topics.ts';

describe('contractMessage: the channel decides QoS and retain', () => {
  it('takes them from CHANNEL_OPTIONS', () => {
    const level = contractMessage(siteTopic('demo-a', 'level'), { level: 2, ts: 1, reasons: [] });
    expect(level).toEqual({
      topic: 'slopeguard/v1/demo-a/level',
      payload: '{"level":2,"ts":1,"reasons":[]}',
      qos: 1,
      retain: true,
    });
    expect(contractMessage(systemTopic('clock'), { ts: 5 })).toMatchObject({ qos: 0, retain: false });
    expect(
      contractMessage(gatewayTopic('demo-a', 'gw-1', 'cmd'), { id: 'c-1', name: 'health-report', args: {} }),
    ).toMatchObject({ qos: 1, retain: false });
  });

  it('refuses a topic not made by the builders', () => {
    expect(() =>
      contractMessage('slopeguard/v1/x/y/nope' as Topic<'event'>, { type: 'started', ts: 1, version: '1' }),
    ).toThrow(/not a contract topic/);
  });
});

describe('decode(topic, bytes)', () => {
  it('returns the payload typed by the channel the topic names', () => {
    const d = decode('slopeguard/v1/demo-a/gw-1/cmd/ack', '{"id":"c-1","ok":true,"ts":3}');
    expect(d.ok).toBe(true);
    if (!d.ok || d.channel !== 'cmd/ack') throw new Error('not an ack');
    // Typed: `d.value.ok` exists only on CommandAck.
    expect(d.value.ok).toBe(true);
    expect(d.topic).toEqual({ scope: 'gateway', site: 'demo-a', gateway: 'gw-1', channel: 'cmd/ack' });
  });

  it('says why it refuses: topic, not JSON, size, depth, schema', () => {
    expect(decode('slopeguard/v1/demo-a/gw-1/nope', '{}')).toMatchObject({ ok: false, reason: 'topic' });
    expect(decode('slopeguard/v1/demo-a/level', '{')).toMatchObject({ ok: false, reason: 'not_json' });
    expect(decode('slopeguard/v1/clock', `{"ts":${'1'.repeat(400)}}`)).toMatchObject({
      ok: false,
      reason: 'size',
    });
    expect(decode('slopeguard/v1/demo-a/level', `${'['.repeat(20)}${']'.repeat(20)}`)).toMatchObject({
      ok: false,
      reason: 'depth',
    });
    const schema = decode('slopeguard/v1/demo-a/level', '{"level":9,"ts":1,"reasons":[]}');
    expect(schema).toMatchObject({ ok: false, reason: 'schema', topic: { site: 'demo-a' } });
  });
});

describe('contractPublisher over mqtt.js and Debian mosquitto', () => {
  let dir: string;
  let broker: Mosquitto;
  const clients: MqttClient[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-publish-'));
    broker = await startMosquitto(dir, { cc: 'cc-pass' }, 'user cc\ntopic readwrite slopeguard/v1/#\n');
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync();
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const client = async (id: string) => {
    const c = await connectAsync(broker.url, { clientId: id, username: 'cc', password: 'cc-pass' });
    clients.push(c);
    return c;
  };

  it('publishes the level retained and an event not, as the map says', async () => {
    const pub = contractPublisher(await client('pub'));
    await pub.publish(siteTopic('demo-a', 'level'), { level: 3, ts: 10, reasons: [{ rule: 'rain' }] });
    await pub.publish(gatewayTopic('demo-a', 'gw-1', 'event'), { type: 'started', ts: 11, version: '1' });
    // A client that subscribes afterwards gets only what the broker retained, before the marker
    // published after its subscription.
    const late = await client('late');
    const got: { topic: string; retain: boolean; decoded: ReturnType<typeof decode> }[] = [];
    const marker = gatewayTopic('demo-b', 'gw-1', 'event');
    const done = new Promise<void>((resolve) =>
      late.on('message', (topic, payload, packet) => {
        if (topic === marker) return resolve();
        got.push({ topic, retain: packet.retain, decoded: decode(topic, payload) });
      }),
    );
    await late.subscribeAsync('slopeguard/v1/#', { qos: 1 });
    await pub.publish(marker, { type: 'started', ts: 12, version: '1' });
    await done;
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({
      topic: 'slopeguard/v1/demo-a/level',
      retain: true,
      decoded: { ok: true, channel: 'level', value: { level: 3, ts: 10, reasons: [{ rule: 'rain' }] } },
    });
  });
});
