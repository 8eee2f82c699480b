import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BrokerService,
  createCa,
  createDeviceCert,
  createServerCert,
  type DeviceRegistry,
  openDeviceRegistry,
  openSqliteStore,
  type Store,
  startBroker,
} from '../src/index.ts';
import { silent, telemetry, tempDir, tilt } from './helpers.ts';

const HAS_OPENSSL = existsSync('/usr/bin/openssl');

describe('TLS (certificates from `slopeguard certs`) and WebSocket listeners', () => {
  // Never skipped: without openssl this fails and names the package (npm test checks it first).
  if (!HAS_OPENSSL) throw new Error('openssl missing: install the Debian package `openssl`');
  const tmp = tempDir();
  const certs = join(tmp.dir, 'certs');
  let store: Store;
  let registry: DeviceRegistry;
  let broker: BrokerService;
  let secret: string;

  beforeAll(async () => {
    await createCa(certs);
    await createServerCert(certs, ['localhost', '127.0.0.1']);
    await createDeviceCert(certs, 's1', 'g1');
    store = openSqliteStore(join(tmp.dir, 'readings.sqlite'));
    registry = openDeviceRegistry(join(tmp.dir, 'registry.sqlite'));
    secret = registry.addDevice('s1', 'g1');
    broker = await startBroker({
      tls: {
        host: '127.0.0.1',
        port: 0,
        certFile: join(certs, 'server.crt'),
        keyFile: join(certs, 'server.key'),
        caFile: join(certs, 'ca.crt'),
        requireClientCert: true,
      },
      ws: { host: '127.0.0.1', port: 0 },
      store,
      logger: silent,
      auth: { registry },
    });
  }, 60_000);
  afterAll(async () => {
    await broker.close();
    registry.close();
    await store.close();
    tmp.cleanup();
  });

  it('has no plain TCP listener when none is configured', () => {
    expect(broker.port).toBe(0);
    expect(broker.tlsPort).toBeGreaterThan(0);
    expect(broker.wsPort).toBeGreaterThan(0);
  });

  it('accepts a gateway with a device certificate and its secret over TLS, and stores its reading', async () => {
    const client = await mqtt.connectAsync({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: broker.tlsPort,
      ca: readFileSync(join(certs, 'ca.crt')),
      cert: readFileSync(join(certs, 's1.g1.crt')),
      key: readFileSync(join(certs, 's1.g1.key')),
      servername: 'localhost',
      username: 's1.g1',
      password: secret,
      clientId: 's1.g1',
      reconnectPeriod: 0,
    });
    await client.publishAsync(
      gatewayTopic('s1', 'g1', 'telemetry'),
      JSON.stringify(telemetry(0, [tilt('t1', 7)])),
      {
        qos: 1,
      },
    );
    expect(await store.count()).toBe(1);
    await client.endAsync();
  });

  it('refuses a TLS client without a client certificate at the handshake', async () => {
    const attempt = mqtt.connectAsync({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: broker.tlsPort,
      ca: readFileSync(join(certs, 'ca.crt')),
      servername: 'localhost',
      username: 's1.g1',
      password: secret,
      clientId: 's1.g1',
      reconnectPeriod: 0,
      connectTimeout: 5000,
    });
    await expect(attempt).rejects.toThrow();
  });

  it('serves MQTT over WebSocket on /mqtt with the same authentication', async () => {
    const url = `ws://127.0.0.1:${broker.wsPort}/mqtt`;
    const client = await mqtt.connectAsync(url, {
      username: 's1.g1',
      password: secret,
      clientId: 's1.g1-ws',
      reconnectPeriod: 0,
    });
    await client.publishAsync(
      gatewayTopic('s1', 'g1', 'telemetry'),
      JSON.stringify(telemetry(1, [tilt('t1', 8)])),
      {
        qos: 1,
      },
    );
    expect(await store.count()).toBe(2);
    await client.endAsync();
    await expect(
      mqtt.connectAsync(url, {
        username: 's1.g1',
        password: 'wrong',
        clientId: 's1.g1-ws',
        reconnectPeriod: 0,
      }),
    ).rejects.toMatchObject({ code: 4 });
  });
});
