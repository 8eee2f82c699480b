import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  type BrokerService,
  createCa,
  createDeviceCert,
  createServerCert,
  type Store,
} from '../src/index.ts';
import { brokerBed } from './broker-bed.ts';
import { telemetry, tilt } from './helpers.ts';

const HAS_OPENSSL = existsSync('/usr/bin/openssl');
const HAS_MOSQUITTO_PUB = existsSync('/usr/bin/mosquitto_pub');

describe('TLS (certificates from `slopeguard certs`) and WebSocket listeners', () => {
  // Never skipped: without openssl this fails and names the package (npm test checks it first).
  if (!HAS_OPENSSL) throw new Error('openssl missing: install the Debian package `openssl`');
  const bed = brokerBed('sg-listeners-');
  const certs = join(bed.dir, 'certs');
  let store: Store;
  let broker: BrokerService;
  let secret: string;
  let secret2: string;

  beforeAll(async () => {
    await createCa(certs);
    await createServerCert(certs, ['localhost', '127.0.0.1']);
    await createDeviceCert(certs, 's1', 'g1');
    await createDeviceCert(certs, 's1', 'g2');
    const opened = bed.open();
    const registry = opened.registry;
    store = opened.store;
    secret = registry.addDevice('s1', 'g1');
    secret2 = registry.addDevice('s1', 'g2');
    broker = await bed.start({
      // TLS and WebSocket only: no plain TCP listener.
      mqtt: undefined,
      tls: {
        host: '127.0.0.1',
        port: 0,
        certFile: join(certs, 'server.crt'),
        keyFile: join(certs, 'server.key'),
        caFile: join(certs, 'ca.crt'),
        requireClientCert: true,
      },
      ws: { host: '127.0.0.1', port: 0 },
    });
  }, 60_000);
  afterAll(() => bed.close());

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

  it('closes a WebSocket whose message is larger than the MQTT packet limit (1009), before CONNECT', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${broker.wsPort}/mqtt`, 'mqtt');
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => {}); // the close code is what is checked
    // 1 MiB, four times the 256 KiB packet limit: ws would have buffered up to 100 MiB before.
    ws.send(Buffer.alloc(1024 * 1024, 0x30));
    expect(await closed).toBe(1009);
  });

  /** A TLS connection with gateway `certOf`'s certificate, as account `username`. */
  const tlsAs = (certOf: string, username: string, password: string) =>
    mqtt.connectAsync({
      protocol: 'mqtts',
      host: '127.0.0.1',
      port: broker.tlsPort,
      ca: readFileSync(join(certs, 'ca.crt')),
      cert: readFileSync(join(certs, `${certOf}.crt`)),
      key: readFileSync(join(certs, `${certOf}.key`)),
      servername: 'localhost',
      username,
      password,
      clientId: username,
      reconnectPeriod: 0,
    });

  it("refuses gateway A's certificate with gateway B's secret (code 5): the certificate's CN must be the username", async () => {
    await expect(tlsAs('s1.g1', 's1.g2', secret2)).rejects.toMatchObject({ code: 5 });
    const own = await tlsAs('s1.g2', 's1.g2', secret2);
    expect(own.connected).toBe(true);
    await own.endAsync();
  });

  it.skipIf(!HAS_MOSQUITTO_PUB)(
    'mosquitto_pub with the wrong gateway certificate is refused; with its own it publishes',
    async () => {
      const pub = (certOf: string) =>
        new Promise<{ code: number; out: string }>((resolve) =>
          execFile(
            'mosquitto_pub',
            [
              ...['-h', '127.0.0.1', '-p', String(broker.tlsPort), '--cafile', join(certs, 'ca.crt')],
              ...['--cert', join(certs, `${certOf}.crt`), '--key', join(certs, `${certOf}.key`)],
              ...['-u', 's1.g2', '-P', secret2, '-i', 's1.g2-mosq', '-q', '1'],
              ...[
                '-t',
                gatewayTopic('s1', 'g2', 'telemetry'),
                '-m',
                JSON.stringify(telemetry(5, [tilt('t2', 9)])),
              ],
            ],
            { timeout: 8000 },
            (err, stdout, stderr) =>
              resolve({
                code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
                out: `${stdout}${stderr}`,
              }),
          ),
        );
      const wrong = await pub('s1.g1');
      expect(wrong.code).not.toBe(0);
      expect(wrong.out).toMatch(/not authori[sz]ed/i);
      expect(await pub('s1.g2')).toMatchObject({ code: 0 });
    },
  );
});
