import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import type { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { CommandGuard, CommandLedger } from '@slopeguard/edge/commands.ts';
import { ReadingQueue } from '@slopeguard/edge/queue/queue.ts';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mosquitto, startMosquitto } from '../../control-center/test/mosquitto.ts';
import { outputLog, queueMeta, startAgent, tempDir, waitFor } from './helpers.ts';

/**
 * Commands cannot replay (issue 13): the gateway ignores retained commands and runs each command id
 * at most once, also across restarts. The broker is Debian's mosquitto, which (unlike ours) accepts
 * and keeps a retained `cmd`, so the gateway's own defence is what is tested. A real MQTT client
 * plays the control center; the gateway runs in-process on a 60x clock with a simulated siren.
 */
const SITE = 'replay-site';
const GW = 'gw-r';
const cmdTopic = gatewayTopic(SITE, GW, 'cmd');
const ackTopic = gatewayTopic(SITE, GW, 'cmd/ack');
const statusTopic = gatewayTopic(SITE, GW, 'status');

describe('commands run at most once, retained ones never', () => {
  const tmp = tempDir('replay');
  const outputs = join(tmp.dir, 'outputs.jsonl');
  let mosquitto: Mosquitto;
  let agent: EdgeAgent;
  let cc: MqttClient;
  const acks: { id: string; ok: boolean }[] = [];
  let onlineCount = 0;
  const config = () => ({
    site: SITE,
    gateway: GW,
    dataDir: join(tmp.dir, 'data'),
    uplink: { url: mosquitto.url, reconnectMinMs: 200, reconnectMaxMs: 1000, batchIntervalMs: 100 },
    drivers: [
      { driver: 'synthetic', id: 'syn', sensors: [{ id: 'rain-1', kind: 'rain', intervalMs: 1000 }] },
    ],
    outputs: [{ kind: 'simulated', id: 'siren', atLevel: 4, file: outputs }],
  });
  const sirenOns = () => outputLog(outputs).filter((o) => o.id === 'siren' && o.on).length;
  const acksOf = (id: string) => acks.filter((a) => a.id === id);
  let probes = 0;
  /** A fresh command whose ack proves every command sent before it was handled (in order). */
  async function probe(): Promise<void> {
    const id = `probe-${++probes}`;
    await cc.publishAsync(cmdTopic, JSON.stringify({ id, name: 'health-report' }), { qos: 1 });
    await waitFor(`ack of ${id}`, () => acksOf(id).length > 0);
  }
  async function restartAgent(): Promise<void> {
    await agent.stop();
    const before = onlineCount;
    agent = await startAgent(config(), 60);
    await waitFor('gateway online again', () => onlineCount > before);
  }
  const sirenTest = (id: string) => JSON.stringify({ id, name: 'test-siren', args: { seconds: 1 } });

  beforeAll(async () => {
    mosquitto = await startMosquitto();
    cc = await connectAsync(mosquitto.url, { clientId: 'cc-replay', reconnectPeriod: 0 });
    cc.on('message', (topic, payload) => {
      const body = JSON.parse(payload.toString()) as { id: string; ok: boolean; state?: string };
      if (topic === ackTopic) acks.push(body);
      else if (topic === statusTopic && body.state === 'online') onlineCount++;
    });
    await cc.subscribeAsync([ackTopic, statusTopic], { qos: 1 });
    agent = await startAgent(config(), 60);
    await waitFor('gateway online', () => onlineCount > 0);
  });
  afterAll(async () => {
    await cc?.endAsync(true);
    await agent?.stop();
    await mosquitto?.stop();
    tmp.cleanup();
  });

  it('runs a command id once however often it arrives, and remembers it across a restart', async () => {
    await cc.publishAsync(cmdTopic, sirenTest('siren-1'), { qos: 1 });
    await cc.publishAsync(cmdTopic, sirenTest('siren-1'), { qos: 1 });
    await probe();
    expect(acksOf('siren-1')).toEqual([expect.objectContaining({ ok: true })]);
    expect(sirenOns()).toBe(1);
    // The executed ids live in the queue's meta table...
    const ledger = queueMeta(join(tmp.dir, 'data/queue.db'), 'state:commands.executed');
    expect(JSON.parse(ledger ?? '[]')).toContain('siren-1');

    // ...so a new process refuses the same id too.
    await restartAgent();
    await cc.publishAsync(cmdTopic, sirenTest('siren-1'), { qos: 1 });
    await probe();
    expect(acksOf('siren-1')).toHaveLength(1);
    expect(sirenOns()).toBe(1);
  });

  it('never runs a command delivered as retained, also after reconnects', async () => {
    // Published retained while the gateway is away: it gets only the stored copy (retain=1).
    await agent.stop();
    await cc.publishAsync(cmdTopic, sirenTest('retained-1'), { qos: 1, retain: true });
    const before = onlineCount;
    agent = await startAgent(config(), 60);
    await waitFor('gateway online again', () => onlineCount > before);
    await probe();
    await restartAgent();
    await probe();
    expect(acksOf('retained-1')).toEqual([]);
    expect(sirenOns()).toBe(1);
  });

  it('runs a retained command published while connected once (live copy), not its stored copies', async () => {
    // A live subscriber gets a retained PUBLISH with retain=0 [MQTT-3.3.1-9]: it is a request now.
    await cc.publishAsync(cmdTopic, sirenTest('retained-2'), { qos: 1, retain: true });
    await probe();
    expect(acksOf('retained-2')).toHaveLength(1);
    expect(sirenOns()).toBe(2);
    await restartAgent();
    await probe();
    expect(acksOf('retained-2')).toHaveLength(1);
    expect(sirenOns()).toBe(2);
    // Clear the retained command [MQTT-3.3.1-10].
    await cc.publishAsync(cmdTopic, '', { qos: 1, retain: true });
  });
});

describe('CommandLedger and CommandGuard', () => {
  const tmp = tempDir('ledger');
  afterAll(() => tmp.cleanup());
  const queueAt = (path: string) =>
    new ReadingQueue({ path, synchronous: 'FULL', maxReadings: 1000, minFreeMb: 0, policy: 'drop-oldest' });

  it('keeps the newest ids, bounded, in the queue file', () => {
    const path = join(tmp.dir, 'q.db');
    let q = queueAt(path);
    const ledger = new CommandLedger(q, 3);
    for (const id of ['a', 'b', 'c', 'd']) expect(ledger.claim(id)).toBe(true);
    expect(ledger.claim('d')).toBe(false);
    q.close();
    q = queueAt(path);
    const reopened = new CommandLedger(q, 3);
    expect(reopened.claim('b')).toBe(false);
    expect(reopened.claim('c')).toBe(false);
    // 'a' fell out of the bound of 3: it is forgotten.
    expect(reopened.claim('a')).toBe(true);
    q.close();
  });

  it('counts every refusal and logs at most one line per reason every 10 s', () => {
    const q = queueAt(':memory:');
    const lines: { fields: Record<string, unknown>; msg: string }[] = [];
    let t = 0;
    const guard = new CommandGuard(
      new CommandLedger(q),
      { warn: (fields, msg) => lines.push({ fields: fields as Record<string, unknown>, msg }) },
      () => t,
    );
    expect(guard.admit('x')).toBe(true);
    for (let i = 0; i < 5; i++) expect(guard.admit('x')).toBe(false);
    expect(guard.retained(true, 'y')).toBe(true);
    expect(guard.retained(false, 'z')).toBe(false);
    expect(guard.refused).toEqual({ duplicate: 5, retained: 1 });
    expect(lines.map((l) => l.fields.reason)).toEqual(['duplicate', 'retained']);
    t = 10_000;
    expect(guard.admit('x')).toBe(false);
    expect(lines[2]?.fields).toMatchObject({
      reason: 'duplicate',
      refusedTotal: 6,
      suppressedSinceLastLine: 4,
    });
    q.close();
  });
});
