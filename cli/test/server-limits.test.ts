import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { brokerLimits, parseServerConfig } from '../server/config.ts';
import { startServer } from '../server/start.ts';

describe('server.yaml mqtt.limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-limits-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps every key to the broker option and refuses unknown keys and non-positive values', () => {
    const ok = parseServerConfig(
      'mqtt:\n  tcp: { port: 0 }\n  limits: { max_sensors_per_gateway: 64, max_clock_skew_ms: 60000, readings_per_second: 50 }\n',
      {},
    );
    expect(ok.ok && brokerLimits(ok.value)).toEqual({
      maxSensorsPerGateway: 64,
      maxClockSkewMs: 60_000,
      readingsPerSecond: 50,
    });
    const bad = parseServerConfig(
      'mqtt:\n  tcp: { port: 0 }\n  limits: { max_sensor: 1, reading_burst: 0 }\n',
      {},
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.errors).toEqual(
        expect.arrayContaining([
          '/mqtt/limits/max_sensor: Unexpected property',
          expect.stringMatching(/^\/mqtt\/limits\/reading_burst: /),
        ]),
      );
    }
  });

  it('slopeguard server applies them: a client id over max_client_id_length is refused (code 2)', async () => {
    const parsed = parseServerConfig(
      `data_dir: ${dir}/data\nmqtt:\n  tcp: { port: 0 }\n  limits: { max_client_id_length: 20 }\nhttp: { port: 0 }\n`,
      {},
    );
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const server = await startServer(parsed.value, new Map(), pino({ level: 'silent' }));
    try {
      const password = server.registry.addDevice('hill-1', 'gw-1');
      const url = `mqtt://127.0.0.1:${server.broker.port}`;
      const opts = { username: 'hill-1.gw-1', password, reconnectPeriod: 0 };
      const ok = await mqtt.connectAsync(url, { ...opts, clientId: 'hill-1.gw-1' });
      await ok.endAsync();
      await expect(
        mqtt.connectAsync(url, { ...opts, clientId: 'hill-1.gw-1-0123456789' }),
      ).rejects.toMatchObject({ code: 2 });
    } finally {
      await server.close();
    }
  });
});
