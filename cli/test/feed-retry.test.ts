import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDeviceRegistry, openSqliteStore, startBroker } from '@slopeguard/broker';
import { startControlCenter } from '@slopeguard/control-center';
import { gatewayTopic } from '@slopeguard/core';
import mqtt from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Issue 9, item 4: the control center's own broker connection. A refused CONNECT (here code 4: the
 * account does not exist yet; in the issue code 3, a drained connect budget) made startup throw and
 * `slopeguard server` exit. The feed now retries with a capped back-off.
 */
describe('control center broker connection', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-feed-retry-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts although the broker refuses its first CONNECT, and connects once it is allowed', async () => {
    const logger = pino({ level: 'silent' });
    const store = openSqliteStore(join(dir, 'readings.sqlite'));
    const registry = openDeviceRegistry(join(dir, 'registry.sqlite'));
    const broker = await startBroker({
      mqtt: { host: '127.0.0.1', port: 0 },
      store,
      logger,
      auth: { registry },
    });
    const password = 'control-center-password-1';
    // Not provisioned yet: every CONNECT of the control center is refused.
    const center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: `mqtt://127.0.0.1:${broker.port}`, username: 'control-center', password },
      logger,
      metrics: new Registry(),
      store,
    });
    try {
      registry.addAccount('control-center', { role: 'control-center', password });
      const secret = registry.addDevice('hill-1', 'gw-1');
      const gw = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, {
        username: 'hill-1.gw-1',
        password: secret,
        clientId: 'hill-1.gw-1',
        reconnectPeriod: 0,
      });
      // Publish until the control center (retrying in the background) has seen the site.
      let seq = 0;
      const deadline = Date.now() + 10_000;
      let sites: { id: string }[] = [];
      while (sites.length === 0 && Date.now() < deadline) {
        const readings = [{ sensor: 'rain-1', kind: 'rain', ts: Date.now(), values: { mm: 1 } }];
        await gw.publishAsync(
          gatewayTopic('hill-1', 'gw-1', 'telemetry'),
          JSON.stringify({ seq: seq++, readings }),
          {
            qos: 1,
          },
        );
        sites = center.view.list();
        if (sites.length === 0) await new Promise((r) => setTimeout(r, 100));
      }
      expect(sites.map((s) => s.id)).toEqual(['hill-1']);
      await gw.endAsync();
    } finally {
      await center.close();
      await broker.close();
      registry.close();
      await store.close();
    }
  });
});
