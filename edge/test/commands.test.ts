import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import type { EdgeAgent } from '@slopeguard/edge/agent.ts';
import type { MqttClient } from 'mqtt';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { outputLog, startAgent, type TestBroker, tempDir, testBroker, waitFor } from './helpers.ts';

/**
 * Commands on .../cmd, acknowledged on .../cmd/ack, and health on .../status (retained, will =
 * offline). A real broker and a real MQTT client play the control center; the gateway runs in-process
 * on a 60x clock. Outputs are simulated (no GPIO here).
 */
const SITE = 'cmd-site';
const GW = 'gw-c';
const cmdTopic = gatewayTopic(SITE, GW, 'cmd');
const ackTopic = gatewayTopic(SITE, GW, 'cmd/ack');
const statusTopic = gatewayTopic(SITE, GW, 'status');

describe('commands and status', () => {
  const tmp = tempDir('commands');
  let broker: TestBroker;
  let agent: EdgeAgent;
  let cc: MqttClient;
  const configFile = join(tmp.dir, 'gateway.yaml');
  const outputs = join(tmp.dir, 'outputs.jsonl');
  const config = () => ({
    site: SITE,
    gateway: GW,
    dataDir: join(tmp.dir, 'data'),
    uplink: { url: broker.url, reconnectMinMs: 200, reconnectMaxMs: 1000, batchIntervalMs: 100 },
    drivers: [
      {
        driver: 'synthetic',
        id: 'syn',
        sensors: [{ id: 'rain-1', kind: 'rain', intervalMs: 1000, supplyV: 12.6 }],
      },
    ],
    outputs: [{ kind: 'simulated', id: 'siren', atLevel: 4, file: outputs }],
  });
  let n = 0;
  async function command(name: string, args?: Record<string, unknown>) {
    const id = `c${++n}`;
    await cc.publishAsync(cmdTopic, JSON.stringify({ id, name, ...(args ? { args } : {}) }), { qos: 1 });
    return waitFor(`ack of ${name}`, () => broker.on(ackTopic).find((a) => a.id === id));
  }

  beforeAll(async () => {
    broker = await testBroker(tmp.dir);
    writeFileSync(configFile, stringify(config()));
    agent = await startAgent(config(), 60, configFile);
    cc = await connectAsync(broker.url, { clientId: 'cc-commands' });
    await waitFor('gateway online', () => broker.on(statusTopic).some((s) => s.state === 'online'));
  });
  afterAll(async () => {
    await cc.endAsync(true);
    await agent.stop();
    await broker.close();
    tmp.cleanup();
  });

  it('publishes a retained status with the health fields', async () => {
    const sub = await connectAsync(broker.url, { clientId: 'cc-status' });
    const got = new Promise<{ body: Record<string, unknown>; retain: boolean }>((resolve) =>
      sub.on('message', (_t, p, packet) =>
        resolve({ body: JSON.parse(p.toString()), retain: packet.retain }),
      ),
    );
    await sub.subscribeAsync(statusTopic, { qos: 1 });
    const { body, retain } = await got;
    await sub.endAsync(true);
    expect(retain).toBe(true);
    expect(body).toMatchObject({ state: 'online', version: 'test', level: { local: 0, effective: 0 } });
    expect(body.queue).toHaveProperty('depth');
    expect(body.queue).toHaveProperty('dropped', 0);
    expect(body.queue).toHaveProperty('oldestTs');
    expect(body.sensors).toHaveProperty('syn');
    expect(body.supplyV).toBe(12.6);
    expect(body.memory).toHaveProperty('rssBytes');
    expect(body.disk).toHaveProperty('freeBytes');
    expect(typeof body.uptimeS).toBe('number');
  });

  it('refuses an unknown command with a negative ack', async () => {
    const ack = await command('self-destruct');
    expect(ack).toMatchObject({ ok: false, error: 'unknown command "self-destruct"' });
  });

  it('test-siren sounds the siren and then returns it to the level', async () => {
    const ack = await command('test-siren', { seconds: 2 });
    expect(ack).toMatchObject({ ok: true, result: { outputs: ['siren'], seconds: 2 } });
    await waitFor('siren on, then off', () => {
      const log = outputLog(outputs).filter((o) => o.id === 'siren');
      return log.length >= 2 && log[0]?.on === true && log[1]?.on === false;
    });
    expect((await command('test-siren', { seconds: 100_000 })).ok).toBe(false);
  });

  it('set-sampling-interval changes the driver interval', async () => {
    const ack = await command('set-sampling-interval', { ms: 5000 });
    expect(ack).toMatchObject({ ok: true, result: { drivers: ['syn'], ms: 5000 } });
    expect((await command('set-sampling-interval', { ms: 5000, driver: 'nope' })).ok).toBe(false);
    expect((await command('set-sampling-interval', { ms: -1 })).ok).toBe(false);
  });

  it('health-report answers with the status', async () => {
    const ack = await command('health-report');
    expect(ack.ok).toBe(true);
    expect(ack.result).toMatchObject({ state: 'online', sensors: { syn: { state: 'ok' } } });
  });

  it('reload-config applies a valid file and refuses an invalid one with its errors', async () => {
    const next = {
      ...config(),
      engine: { rules: { holdDown: { hours: 1 } } },
    };
    writeFileSync(configFile, stringify(next));
    const ok = await command('reload-config');
    expect(ok.error).toBeUndefined();
    expect(ok).toMatchObject({ ok: true, result: { applied: ['drivers', 'rules', 'sampling'] } });
    writeFileSync(configFile, `${readFileSync(configFile, 'utf8')}\nbogus: 1\n`);
    const refused = await command('reload-config');
    expect(refused.ok).toBe(false);
    expect(String(refused.error)).toContain('/bogus: Unexpected property');
  });

  it('the broker publishes the will (offline, retained) when the link dies, and the gateway comes back online', async () => {
    const before = broker.on(statusTopic).length;
    broker.dropClient(`${SITE}.${GW}`);
    await waitFor('will: offline', () =>
      broker
        .on(statusTopic)
        .slice(before)
        .some((s) => s.state === 'offline'),
    );
    await waitFor('online again', () => {
      const after = broker.on(statusTopic).slice(before);
      return after.findIndex((s) => s.state === 'online') > after.findIndex((s) => s.state === 'offline');
    });
  });
});
