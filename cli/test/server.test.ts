import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSiteConfigs, parseServerConfig } from '../server/config.ts';
import { startServer } from '../server/start.ts';

describe('server configuration', () => {
  it('fills defaults from a minimal file', () => {
    const r = parseServerConfig('mqtt:\n  tcp: { port: 1883 }\n', {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.mqtt.tcp).toEqual({ host: '127.0.0.1', port: 1883 });
    expect(r.value.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(r.value.store).toEqual({ type: 'sqlite' });
    expect(r.value.mqtt.persistence).toBe('sqlite');
  });

  it('lists every error with its path at once', () => {
    const r = parseServerConfig('mqtt:\n  tcp: { prot: 1883 }\nhttp: { port: -1 }\nbogus: true\n', {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        '/bogus: Unexpected property',
        '/mqtt/tcp/prot: Unexpected property',
        expect.stringMatching(/^\/mqtt\/tcp\/port: /),
        expect.stringMatching(/^\/http\/port: /),
      ]),
    );
  });

  it('takes InfluxDB secrets from the environment and requires a v2 token', () => {
    const v1 = parseServerConfig('mqtt: { tcp: { port: 1 } }\nstore: { type: influxdb1, password: file }\n', {
      SLOPEGUARD_INFLUX_PASSWORD: 'from-env',
    });
    expect(v1.ok && v1.value.store.type === 'influxdb1' && v1.value.store.password).toBe('from-env');
    const v2 = parseServerConfig('mqtt: { tcp: { port: 1 } }\nstore: { type: influxdb2, org: o }\n', {});
    expect(v2).toEqual({ ok: false, errors: ['/store/token: required (or SLOPEGUARD_INFLUX_TOKEN)'] });
  });

  it('reports bad site files by file name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sg-sites-'));
    writeFileSync(join(dir, 'a.yaml'), 'id: demo-a\nsensors: [{ id: rain-1, kind: rain }]\n');
    writeFileSync(join(dir, 'b.yaml'), 'id: Bad Id\nsensors: []\n');
    const r = loadSiteConfigs(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.every((e) => e.startsWith('b.yaml: '))).toBe(true);
  });
});

describe('slopeguard server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-server-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records a provisioned gateway and publishes the level of a configured site', async () => {
    mkdirSync(join(dir, 'sites'));
    writeFileSync(
      join(dir, 'sites', 'hill-1.yaml'),
      'id: hill-1\nsensors:\n  - { id: rain-1, kind: rain }\n',
    );
    const parsed = parseServerConfig(
      `data_dir: ${dir}/data\nmqtt:\n  tcp: { port: 0 }\nhttp: { port: 0 }\nsites_dir: ${dir}/sites\n`,
      {},
    );
    const sites = loadSiteConfigs(join(dir, 'sites'));
    expect(parsed.ok && sites.ok).toBe(true);
    if (!parsed.ok || !sites.ok) return;
    const server = await startServer(parsed.value, sites.value, pino({ level: 'silent' }));
    try {
      const password = server.registry.addDevice('hill-1', 'gw-1');
      const url = `mqtt://127.0.0.1:${server.broker.port}`;
      const anonymous = mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: 'nobody' });
      await expect(anonymous).rejects.toThrow(/Not authorized|Bad username/);

      const gw = await mqtt.connectAsync(url, { username: 'hill-1.gw-1', password, clientId: 'hill-1.gw-1' });
      const levels: number[] = [];
      gw.on('message', (_t, p) => levels.push((JSON.parse(p.toString()) as { level: number }).level));
      await gw.subscribeAsync('slopeguard/v1/hill-1/level', { qos: 1 });
      const t0 = Date.now() - 3 * 3_600_000;
      for (let i = 1; i <= 18; i++) {
        const readings = [{ sensor: 'rain-1', kind: 'rain', ts: t0 + i * 600_000, values: { mm: 6 } }];
        await gw.publishAsync(
          gatewayTopic('hill-1', 'gw-1', 'telemetry'),
          JSON.stringify({ seq: i, readings }),
          { qos: 1 },
        );
      }
      expect(await server.store.count()).toBe(18);
      // 108 mm in 3 h: past the 60 mm advisory line (level 1), then the 90 mm warning line (level 2).
      const until = Date.now() + 5_000;
      while (!levels.includes(2) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      expect(levels).toContain(1);
      expect(levels.at(-1)).toBe(2);
      await gw.endAsync();
    } finally {
      await server.close();
    }
  });
});
