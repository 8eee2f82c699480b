import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { gatewayTopic, siteTopic } from '@slopeguard/core';
import type { MqttClient } from 'mqtt';
import type { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BrokerService, type DeviceRegistry, openDeviceRegistry, type Store } from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { connect, metricValue, telemetry, tilt, until } from './helpers.ts';

const HAS_MOSQUITTO_CLIENTS = existsSync('/usr/bin/mosquitto_pub') && existsSync('/usr/bin/mosquitto_sub');

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

describe('authentication and authorisation', () => {
  const bed = brokerBed('sg-broker-');
  let store: Store;
  let registry: DeviceRegistry;
  let broker: BrokerService;
  let metrics: Registry;
  let secretG1: string;
  let secretG2: string;
  let secretRevoked: string;
  let ccPassword: string;
  let observerPassword: string;
  const open: MqttClient[] = [];

  beforeAll(async () => {
    ({ store, registry } = bed.open());
    secretG1 = registry.addDevice('s1', 'g1');
    secretG2 = registry.addDevice('s1', 'g2');
    registry.addDevice('s2', 'g1');
    secretRevoked = registry.addDevice('s1', 'old');
    registry.revoke('s1.old');
    ccPassword = registry.addAccount('control-center', { role: 'control-center' });
    observerPassword = registry.addAccount('observer', { role: 'observer' });
    metrics = bed.metrics;
    broker = await bed.start({
      auth: { registry, pollMs: 50 },
    });
  });
  afterAll(() => bed.close(open));

  async function client(username?: string, password?: string, clientId?: string) {
    const c = await connect(broker.port, { username, password, clientId: clientId ?? username ?? 'anon' });
    open.push(c);
    return c;
  }

  describe('refusals with MQTT.js (acceptance 1)', () => {
    it('accepts a provisioned gateway with its secret and client id', async () => {
      const c = await client('s1.g1', secretG1);
      expect(c.connected).toBe(true);
    });
    it('refuses a wrong password with return code 4 [MQTT-3.2.2-3]', async () => {
      await expect(client('s1.g1', 'wrong-secret')).rejects.toMatchObject({ code: 4 });
    });
    it('refuses an unknown gateway', async () => {
      await expect(client('s1.nobody', secretG1)).rejects.toMatchObject({ code: 4 });
    });
    it('refuses a revoked gateway even with its old secret', async () => {
      await expect(client('s1.old', secretRevoked)).rejects.toMatchObject({ code: 4 });
    });
    it('refuses an anonymous client with return code 5', async () => {
      await expect(client(undefined, undefined, 'anon-1')).rejects.toMatchObject({ code: 5 });
    });
    it('refuses a client id that belongs to another account (no session takeover) with code 2', async () => {
      await expect(client('s1.g2', secretG2, 's1.g1')).rejects.toMatchObject({ code: 2 });
      await expect(client('control-center', ccPassword, 's1.g1')).rejects.toMatchObject({ code: 2 });
    });
    it('counts refusals by reason', async () => {
      expect(
        await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="bad_secret"'),
      ).toBe(1);
      expect(
        await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="unknown_account"'),
      ).toBe(1);
      expect(
        await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="revoked"'),
      ).toBe(1);
      expect(
        await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="anonymous"'),
      ).toBe(1);
      expect(
        await metricValue(metrics, 'slopeguard_broker_refused_connections_total', 'reason="client_id"'),
      ).toBe(2);
    });
  });

  describe('refusals with mosquitto_pub / mosquitto_sub (acceptance 1)', () => {
    // Never skipped: without the clients this fails and names the package (npm test checks it first).
    if (!HAS_MOSQUITTO_CLIENTS)
      throw new Error('mosquitto_pub/mosquitto_sub missing: install the Debian package `mosquitto-clients`');
    const topic = gatewayTopic('s1', 'g2', 'telemetry');
    const payload = JSON.stringify(telemetry(0, [tilt('m1', 42)]));
    const pub = (u: string[]) =>
      run('mosquitto_pub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(broker.port),
        '-q',
        '1',
        '-t',
        topic,
        '-m',
        payload,
        ...u,
      ]);
    const sub = (u: string[]) =>
      run('mosquitto_sub', [
        '-h',
        '127.0.0.1',
        '-p',
        String(broker.port),
        '-t',
        'slopeguard/v1/#',
        '-W',
        '2',
        '-C',
        '1',
        ...u,
      ]);

    it('mosquitto_pub with the right secret stores the reading', async () => {
      const r = await pub(['-u', 's1.g2', '-P', secretG2, '-i', 's1.g2']);
      expect(r.code).toBe(0);
      expect(await store.count({ site: 's1' })).toBeGreaterThanOrEqual(1);
    });
    it('mosquitto_pub: wrong password, unknown gateway, revoked gateway, anonymous are refused', async () => {
      for (const args of [
        ['-u', 's1.g2', '-P', 'wrong-password', '-i', 's1.g2'],
        ['-u', 's1.ghost', '-P', secretG2, '-i', 's1.ghost'],
        ['-u', 's1.old', '-P', secretRevoked, '-i', 's1.old'],
        ['-i', 'anonymous-pub'],
      ]) {
        const r = await pub(args);
        expect(r.code, r.out).not.toBe(0);
        expect(r.out).toMatch(/refused|not authori[sz]ed|bad user/i);
      }
    });
    it('mosquitto_sub: wrong password, unknown gateway, revoked gateway, anonymous are refused', async () => {
      for (const args of [
        ['-u', 'observer', '-P', 'wrong-password-123', '-i', 'observer'],
        ['-u', 's1.ghost', '-P', secretG2, '-i', 's1.ghost'],
        ['-u', 's1.old', '-P', secretRevoked, '-i', 's1.old'],
        ['-i', 'anonymous-sub'],
      ]) {
        const r = await sub(args);
        expect(r.code, r.out).not.toBe(0);
        expect(r.out).toMatch(/refused|not authori[sz]ed|bad user/i);
      }
    });
    it('mosquitto_sub as the observer receives telemetry', async () => {
      const watching = sub(['-u', 'observer', '-P', observerPassword, '-i', 'observer', '-v']);
      // Publish until the subscriber (which may still be connecting) has seen one message.
      const publisher = await client('s1.g2', secretG2, 's1.g2-mosq');
      let seq = 100;
      let done = false;
      void watching.then(() => {
        done = true;
      });
      await until(async () => {
        await publisher.publishAsync(topic, JSON.stringify(telemetry(seq++, [tilt('m1', 1000 + seq)])), {
          qos: 1,
        });
        return done;
      });
      const r = await watching;
      expect(r.code).toBe(0);
      expect(r.out).toContain(topic);
    });
  });

  describe('authorisation (acceptance 2)', () => {
    it('refuses and counts a gateway publishing into another gateway or another site', async () => {
      const cc = await client('control-center', ccPassword, 'control-center-test');
      const seen: string[] = [];
      cc.on('message', (t) => seen.push(t));
      await cc.subscribeAsync('slopeguard/v1/#', { qos: 1 });
      const g1 = await client('s1.g1', secretG1, 's1.g1-acl');
      const before = await store.count();
      const payload = (seq: number, ts: number) => JSON.stringify(telemetry(seq, [tilt('t9', ts)]));
      await g1.publishAsync(gatewayTopic('s1', 'g2', 'telemetry'), payload(1, 1), { qos: 1 });
      await g1.publishAsync(gatewayTopic('s2', 'g1', 'telemetry'), payload(2, 2), { qos: 1 });
      await g1.publishAsync(siteTopic('s1', 'level'), JSON.stringify({ level: 4, ts: 1, reasons: [] }), {
        qos: 1,
      });
      await g1.publishAsync(gatewayTopic('s1', 'g1', 'cmd'), JSON.stringify({ id: 'x', name: 'reboot' }), {
        qos: 1,
      });
      // Its own topic goes through, and marks the point the others would have reached the subscriber by.
      await g1.publishAsync(gatewayTopic('s1', 'g1', 'telemetry'), payload(3, 3), { qos: 1 });
      await until(() => seen.includes(gatewayTopic('s1', 'g1', 'telemetry')));
      expect(seen).toEqual([gatewayTopic('s1', 'g1', 'telemetry')]);
      expect(await store.count()).toBe(before + 1);
      expect(g1.connected).toBe(true);
      expect(
        await metricValue(
          metrics,
          'slopeguard_broker_rejected_by_gateway_total',
          'gateway="g1",reason="acl"',
        ),
      ).toBe(4);
    });

    it('lets a gateway subscribe only to its own cmd and its site level (SUBACK 0x80 otherwise) [MQTT-3.9.3-1]', async () => {
      const g1 = await client('s1.g1', secretG1, 's1.g1-sub');
      // MQTT.js rejects when any return code is 0x80; the SUBACK is on the error.
      const suback = await g1
        .subscribeAsync(
          [
            gatewayTopic('s1', 'g1', 'cmd'),
            siteTopic('s1', 'level'),
            gatewayTopic('s1', 'g2', 'cmd'),
            siteTopic('s2', 'level'),
            'slopeguard/v1/#',
            'slopeguard/v1/s1/+/cmd',
          ],
          { qos: 1 },
        )
        .then(
          () => undefined,
          (err: { packet?: { granted: number[] } }) => err.packet?.granted,
        );
      expect(suback).toEqual([1, 1, 128, 128, 128, 128]);
    });

    it('delivers commands to the gateway and acks from it to the control center', async () => {
      const cc = await client('control-center', ccPassword, 'control-center-cmd');
      const g1 = await client('s1.g1', secretG1, 's1.g1-cmd');
      const got = new Promise<string>((resolve) => g1.on('message', (_t, p) => resolve(p.toString())));
      await g1.subscribeAsync(gatewayTopic('s1', 'g1', 'cmd'), { qos: 1 });
      await cc.publishAsync(gatewayTopic('s1', 'g1', 'cmd'), JSON.stringify({ id: 'c1', name: 'ping' }), {
        qos: 1,
      });
      expect(JSON.parse(await got)).toEqual({ id: 'c1', name: 'ping' });
    });

    it('an observer may read but not publish', async () => {
      const obs = await client('observer', observerPassword, 'observer_1');
      const granted = await obs.subscribeAsync(['slopeguard/v1/#', '$SG/rejected/#'], { qos: 1 });
      expect(granted.map((g) => g.qos)).toEqual([1, 1]);
      const before = await metricValue(metrics, 'slopeguard_broker_rejected_total', 'reason="acl"');
      await obs.publishAsync(gatewayTopic('s1', 'g1', 'cmd'), JSON.stringify({ id: 'x', name: 'y' }), {
        qos: 1,
      });
      expect(await metricValue(metrics, 'slopeguard_broker_rejected_total', 'reason="acl"')).toBe(before + 1);
    });
  });

  describe('revocation', () => {
    it('disconnects a connected gateway at once when revoked in-process', async () => {
      const secret = registry.addDevice('s3', 'g1');
      const c = await client('s3.g1', secret);
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      registry.revoke('s3.g1');
      await closed;
      await expect(client('s3.g1', secret)).rejects.toMatchObject({ code: 4 });
    });
    it('disconnects it when another process (another registry connection) revokes it', async () => {
      const secret = registry.addDevice('s3', 'g2');
      const c = await client('s3.g2', secret);
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      const cli = openDeviceRegistry(registry.path);
      expect(cli.revoke('s3.g2')).toBe(true);
      cli.close();
      await closed;
    });
  });
});
