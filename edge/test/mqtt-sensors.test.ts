import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { systemClock } from '@slopeguard/edge/clock.ts';
import { parseConfig } from '@slopeguard/edge/config/load.ts';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type TestBroker, tempDir, testBroker, waitFor } from './helpers.ts';
import { type Mosquitto, nodePublish, startMosquitto } from './mosquitto.ts';

/**
 * Acceptance 1: field nodes publish JSON to Debian's Mosquitto as the gateway's local broker
 * (`mosquitto_pub` is the node) -> the gateway's mqtt driver -> its durable queue -> the project's
 * broker -> its SQLite store. The readings in the store must be exactly what the nodes sent, mapped
 * and scaled; bad messages are counted in the sensors' health, logged once, and change nothing else.
 */
describe('sensors over MQTT: mosquitto_pub -> Mosquitto -> mqtt driver -> queue -> broker -> store', () => {
  const tmp = tempDir('mqtt-sensors');
  let mosquitto: Mosquitto | undefined;
  let broker: TestBroker | undefined;
  let agent: EdgeAgent | undefined;

  afterAll(async () => {
    await agent?.stop();
    await broker?.close();
    await mosquitto?.stop();
    tmp.cleanup();
  });

  it('stores exactly the mapped and native readings; bad payloads are counted, logged once, harmless', async () => {
    mosquitto = await startMosquitto(
      tmp.dir,
      { gateway: 'gw-secret', lora: 'lora-secret', esp7: 'esp7-secret', piezo3: 'piezo3-secret' },
      [
        'user gateway',
        'topic read application/#',
        'topic read site/#',
        'topic read slopeguard-node/#',
        'user lora',
        'topic write application/slope/#',
        'user esp7',
        'topic write site/esp32-7/#',
        'user piezo3',
        'topic write slopeguard-node/piezo-3',
        '',
      ].join('\n'),
    );
    broker = await testBroker(tmp.dir);
    const passwordFile = join(tmp.dir, 'local-broker.pw');
    writeFileSync(passwordFile, 'gw-secret\n');
    const r = parseConfig(
      stringify({
        site: 'mq-site',
        gateway: 'gw-mq',
        dataDir: join(tmp.dir, 'data'),
        uplink: { url: broker.url, batchIntervalMs: 100 },
        queue: { commitIntervalMs: 50 },
        drivers: [
          {
            driver: 'mqtt',
            id: 'nodes',
            url: mosquitto.url,
            username: 'gateway',
            passwordFile,
            sensors: [
              {
                // A LoRaWAN extensometer through a network server's MQTT integration (JSON as
                // ChirpStack v4 publishes it: decoded values under `object`, an ISO time).
                id: 'ext-1',
                kind: 'displacement',
                topic: 'application/slope/device/+/event/up',
                fields: {
                  mm: { path: 'object.distance_mm' },
                  supply_v: { path: 'object.battery_mv', scale: 0.001 },
                },
                ts: { path: 'time', unit: 'iso' },
              },
              {
                // An ESP32 tilt node with its own JSON: hundredths of a degree, epoch seconds.
                id: 'tilt-7',
                kind: 'tilt',
                topic: 'site/esp32-7/tilt',
                fields: { x: { path: 'ax', scale: 0.01 }, y: { path: 'ay', scale: 0.01 }, temp_c: 't_c' },
                ts: { path: 't', unit: 's' },
              },
              // New firmware in the native format on slopeguard-node/piezo-3.
              { id: 'piezo-3', kind: 'pore_pressure' },
            ],
          },
        ],
      }),
    );
    if (!r.ok) throw new Error(r.errors.join('\n'));
    const logLines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    const gw = new EdgeAgent({ config: r.config, clock: systemClock, logger, version: 'test' });
    agent = gw;
    await gw.start();
    const nodes = () => gw.status().sensors?.nodes;
    // Up (not down) once Mosquitto confirmed the subscriptions; degraded until every sensor has spoken.
    await waitFor('the mqtt driver listening on Mosquitto', () => nodes()?.state === 'degraded');

    const base = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '+00:00');
    const lora = (ms: number, mm: number | string) =>
      JSON.stringify({
        deviceInfo: { devEui: 'a84041000181c9e1', deviceName: 'ext-1' },
        time: iso(ms),
        fCnt: 17,
        object: { distance_mm: mm, battery_mv: 3650 },
      });
    const pub = (user: string, pass: string, topic: string, message: string) =>
      nodePublish(mosquitto as Mosquitto, user, pass, topic, message);
    const loraTopic = 'application/slope/device/a84041000181c9e1/event/up';

    pub('lora', 'lora-secret', loraTopic, lora(base, 1234.5));
    pub(
      'esp7',
      'esp7-secret',
      'site/esp32-7/tilt',
      JSON.stringify({ ax: 12, ay: -40, t_c: 18.5, t: base / 1000 }),
    );
    pub(
      'piezo3',
      'piezo3-secret',
      'slopeguard-node/piezo-3',
      JSON.stringify({ ts: base, values: { kpa: 12.5 } }),
    );
    // Bad messages, each for one sensor: not JSON, a number sent as a string, the native format broken.
    pub('lora', 'lora-secret', loraTopic, '{"object": {"distance_mm": 12');
    pub('lora', 'lora-secret', loraTopic, lora(base + 500, '1234.9'));
    pub(
      'piezo3',
      'piezo3-secret',
      'slopeguard-node/piezo-3',
      JSON.stringify({ values: { kpa: 1 }, extra: true }),
    );
    // Good ones after them: the bad messages stopped nothing.
    pub('lora', 'lora-secret', loraTopic, lora(base + 1000, 1235.25));
    pub(
      'esp7',
      'esp7-secret',
      'site/esp32-7/tilt',
      JSON.stringify({ ax: 13, ay: -41, t_c: 18.25, t: base / 1000 + 1 }),
    );
    pub(
      'piezo3',
      'piezo3-secret',
      'slopeguard-node/piezo-3',
      JSON.stringify({ ts: base + 1000, values: { kpa: 12.75, supply_v: 3.6 } }),
    );

    // What the store's SQLite file holds (read as a second connection, as any reader would).
    const stored = () => {
      const db = new DatabaseSync(join(tmp.dir, 'broker-store.db'), { readOnly: true });
      try {
        const rows = db
          .prepare(
            `SELECT s.sensor, r.kind, r.ts, r.q, r.vals, r.gateway FROM all_readings r JOIN sensors s USING (sid)
             WHERE s.site = 'mq-site' ORDER BY s.sensor, r.ts`,
          )
          .all() as {
          sensor: string;
          kind: string;
          ts: number;
          q: string | null;
          vals: string;
          gateway: string;
        }[];
        return rows.map((row) => ({
          sensor: row.sensor,
          kind: row.kind,
          ts: row.ts,
          values: JSON.parse(row.vals) as Record<string, number>,
          ...(row.q ? { q: row.q } : {}),
          gateway: row.gateway,
        }));
      } finally {
        db.close();
      }
    };
    await waitFor('six readings in the store', () => stored().length >= 6);
    const got = stored();
    expect(got).toEqual([
      { sensor: 'ext-1', kind: 'displacement', ts: base, values: { mm: 1234.5 }, gateway: 'gw-mq' },
      { sensor: 'ext-1', kind: 'displacement', ts: base + 1000, values: { mm: 1235.25 }, gateway: 'gw-mq' },
      { sensor: 'piezo-3', kind: 'pore_pressure', ts: base, values: { kpa: 12.5 }, gateway: 'gw-mq' },
      { sensor: 'piezo-3', kind: 'pore_pressure', ts: base + 1000, values: { kpa: 12.75 }, gateway: 'gw-mq' },
      {
        sensor: 'tilt-7',
        kind: 'tilt',
        ts: base,
        values: { x: 0.12, y: -0.4, temp_c: 18.5 },
        gateway: 'gw-mq',
      },
      {
        sensor: 'tilt-7',
        kind: 'tilt',
        ts: base + 1000,
        values: { x: 0.13, y: -0.41, temp_c: 18.25 },
        gateway: 'gw-mq',
      },
    ]);

    const h = nodes();
    expect(h?.sensors?.['ext-1']?.errors).toEqual({ bad_payload: 2 });
    expect(h?.sensors?.['piezo-3']?.errors).toEqual({ bad_payload: 1 });
    expect(h?.sensors?.['tilt-7']?.errors).toEqual({});
    expect(h?.sensors?.['ext-1']?.supplyV).toBe(3.65);
    expect(h?.sensors?.['piezo-3']?.supplyV).toBe(3.6);
    expect(h?.errors).toEqual({ bad_payload: 3 });
    expect(h?.state).toBe('ok');
    // The queue took only good readings; the sink refused nothing.
    expect(gw.status().readings).toEqual({ accepted: 6, rejected: 0 });
    // Two bad messages in a row for ext-1: one log line, then one `recovered` when a good one came.
    const warned = logLines.filter((l) => l.reason === 'bad_payload');
    expect(warned.map((l) => l.sensor)).toEqual(['ext-1', 'piezo-3']);
    expect(String(warned[0]?.err)).toContain('payload is not JSON');
    expect(logLines.filter((l) => l.msg === 'recovered').map((l) => l.run)).toEqual([
      'ext-1:bad_payload',
      'piezo-3:bad_payload',
    ]);
    // The node's credentials never reach the gateway's log.
    expect(JSON.stringify(logLines)).not.toContain('gw-secret');
  });
});
