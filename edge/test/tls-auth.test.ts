import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BrokerService,
  createCa,
  createServerCert,
  gatewayUsername,
  openDeviceRegistry,
  openSqliteStore,
  startBroker,
} from '@slopeguard/broker';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { assertRunning, kill, spawnEdge, tempDir, waitFor, writeConfig } from './helpers.ts';

/**
 * The uplink as deployed: mqtts:// with the broker's own CA, the gateway's account (`{site}.{gateway}`)
 * and its secret from the environment (SLOPEGUARD_MQTT_PASSWORD). The broker is the project's, with
 * TLS and the device registry; the gateway is a child process of the CLI. The secret must never
 * appear in the gateway's log, also not when it is refused.
 */
describe('uplink over TLS with per-gateway credentials', () => {
  const tmp = tempDir('tls');
  const store = openSqliteStore(join(tmp.dir, 'store.db'), { synchronous: 'normal' });
  const registry = openDeviceRegistry(join(tmp.dir, 'registry.db'));
  let broker: BrokerService | undefined;
  const children: ChildProcess[] = [];

  afterAll(async () => {
    for (const c of children) await kill(c, 'SIGKILL');
    await broker?.close();
    await store.close();
    registry.close();
    tmp.cleanup();
  });

  it('connects with the CA file and the secret from the environment; a wrong secret is refused and not logged', async () => {
    const certs = join(tmp.dir, 'certs');
    const ca = await createCa(certs);
    const server = await createServerCert(certs, ['127.0.0.1']);
    const secret = registry.addDevice('tls-site', 'gw-t');
    broker = await startBroker({
      tls: { host: '127.0.0.1', port: 0, certFile: server.cert, keyFile: server.key },
      store,
      auth: { registry },
      logger: pino({ level: 'silent' }),
    });
    const config = (gateway: string) =>
      writeConfig(tmp.dir, `${gateway}.yaml`, {
        site: 'tls-site',
        gateway,
        dataDir: join(tmp.dir, gateway),
        uplink: {
          url: `mqtts://127.0.0.1:${broker?.tlsPort}`,
          username: gatewayUsername('tls-site', gateway),
          caFile: ca.cert,
          batchIntervalMs: 100,
        },
        drivers: [
          {
            driver: 'synthetic',
            id: 'syn',
            sensors: [{ id: `rain-${gateway}`, kind: 'rain', intervalMs: 200 }],
          },
        ],
      });

    const goodLog = join(tmp.dir, 'good.log');
    const good = spawnEdge(config('gw-t'), ['--log-level', 'info'], goodLog, {
      SLOPEGUARD_MQTT_PASSWORD: secret,
    });
    children.push(good);
    await waitFor('readings stored over TLS', async () => {
      assertRunning(good, goodLog);
      return (await store.count({ site: 'tls-site' })) >= 5;
    });
    expect(readFileSync(goodLog, 'utf8')).toContain('uplink connected');

    // Another provisioned gateway with the wrong secret: refused, and the secret it tried is not logged.
    registry.addDevice('tls-site', 'gw-x');
    const badLog = join(tmp.dir, 'bad.log');
    const wrong = 'definitely-not-the-secret-4711';
    const bad = spawnEdge(config('gw-x'), ['--log-level', 'debug'], badLog, {
      SLOPEGUARD_MQTT_PASSWORD: wrong,
    });
    children.push(bad);
    await waitFor('refusal logged', () => {
      assertRunning(bad, badLog);
      return readFileSync(badLog, 'utf8').includes('uplink error');
    });
    const logs = readFileSync(badLog, 'utf8') + readFileSync(goodLog, 'utf8');
    expect(logs).not.toContain(wrong);
    expect(logs).not.toContain(secret);
    expect(await store.count({ site: 'tls-site' })).toBeGreaterThan(0);
  }, 60_000);
});
