import { join } from 'node:path';
import { gatewayTopic, siteTopic } from '@slopeguard/core';
import type { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { afterEach, describe, expect, it } from 'vitest';
import {
  outputLog,
  queuedReadings,
  startAgent,
  type TestBroker,
  tempDir,
  testBroker,
  waitFor,
} from './helpers.ts';

/**
 * Acceptance 3 and the official level. The gateway runs in-process on a clock 600x faster than real
 * time, against the project's broker. The siren and light are simulated outputs (no GPIO here): each
 * switch is a JSON line in a file, the same code path as GPIO up to the last call.
 */
const SCALE = 600;
const SITE = 'auto-site';
const GW = 'gw-a';

function gatewayConfig(dir: string, url: string, extra: object = {}) {
  return {
    site: SITE,
    gateway: GW,
    dataDir: join(dir, 'data'),
    uplink: { url, reconnectMinMs: 200, reconnectMaxMs: 1000, batchIntervalMs: 100 },
    queue: { commitIntervalMs: 50 },
    drivers: [
      {
        driver: 'synthetic',
        id: 'syn',
        // An extensometer creeping at 30 mm/h: crosses 20 mm (level 3) 40 simulated minutes in.
        sensors: [
          { id: 'ext-1', kind: 'displacement', intervalMs: 10_000, values: { mm: { slopePerHour: 30 } } },
        ],
      },
    ],
    rules: { thresholds: [{ sensor: 'ext-1', field: 'mm', above: 20, level: 3 }], holdMs: 7_200_000 },
    outputs: [
      { kind: 'simulated', id: 'light', atLevel: 3, file: join(dir, 'outputs.jsonl') },
      { kind: 'simulated', id: 'siren', atLevel: 4, file: join(dir, 'outputs.jsonl') },
    ],
    sampling: { fastAtLevel: 2, fastIntervalMs: 1000 },
    official: { holdMs: 60_000 },
    ...extra,
  };
}

describe('local autonomy', () => {
  const tmp = tempDir('autonomy');
  let broker: TestBroker | undefined;
  let agent: EdgeAgent | undefined;

  afterEach(async () => {
    await agent?.stop();
    await broker?.close();
    agent = undefined;
    broker = undefined;
  });

  it('with the uplink cut, a creep reaching the tier drives the output; the event arrives when the link returns', async () => {
    const dir = join(tmp.dir, 'a3');
    broker = await testBroker(tmp.dir);
    const b = broker;
    agent = await startAgent(gatewayConfig(dir, b.url), SCALE);
    const statusTopic = gatewayTopic(SITE, GW, 'status');
    await waitFor('gateway online', () => b.on(statusTopic).some((s) => s.state === 'online'));

    await b.stop(); // uplink cut
    const outputs = join(dir, 'outputs.jsonl');
    await waitFor(
      'light switched on',
      () => outputLog(outputs).some((o) => o.id === 'light' && o.on),
      20_000,
    );
    expect(agent.level.local).toBe(3);
    expect(outputLog(outputs).filter((o) => o.id === 'siren' && o.on)).toEqual([]);

    // Sampling sped up at level >= 2: the readings after the switch come every simulated second.
    await waitFor('fast readings', () => {
      const ts = queuedReadings(join(dir, 'data', 'queue.db')).map((r) => r.ts);
      return ts.length > 20 && ts.slice(-10).every((t, i, a) => i === 0 || t - (a[i - 1] as number) === 1000);
    });

    await b.start(); // link returns: the level change made offline is reported
    const eventTopic = gatewayTopic(SITE, GW, 'event');
    const event = await waitFor(
      'level event',
      () => b.on(eventTopic).find((e) => e.type === 'level'),
      20_000,
    );
    expect(event).toMatchObject({ type: 'level', scope: 'local', level: 3, previous: 0 });
    expect((event.reasons as { sensor?: string }[])[0]?.sensor).toBe('ext-1');
  });

  it('follows the official level while it is fresh: outputs show max(local, official)', async () => {
    const dir = join(tmp.dir, 'official');
    broker = await testBroker(tmp.dir);
    const b = broker;
    // No creep here: the local level stays 0.
    const config = gatewayConfig(dir, b.url, { rules: undefined });
    agent = await startAgent(config, SCALE);
    const a = agent;
    await waitFor('gateway online', () =>
      b.on(gatewayTopic(SITE, GW, 'status')).some((s) => s.state === 'online'),
    );
    const { connectAsync } = await import('mqtt');
    const cc = await connectAsync(b.url, { clientId: 'control-center-test' });
    const outputs = join(dir, 'outputs.jsonl');
    const sirenOn = () =>
      outputLog(outputs)
        .filter((o) => o.id === 'siren')
        .at(-1)?.on === true;

    await cc.publishAsync(
      siteTopic(SITE, 'level'),
      JSON.stringify({ level: 4, ts: Date.now(), reasons: [] }),
      { qos: 1, retain: true },
    );
    await waitFor('siren on for official level 4', sirenOn);
    expect(a.level).toEqual({ local: 0, effective: 4 });

    await cc.publishAsync(
      siteTopic(SITE, 'level'),
      JSON.stringify({ level: 0, ts: Date.now(), reasons: [] }),
      { qos: 1, retain: true },
    );
    await waitFor('siren off for official level 0', () => !sirenOn());

    await cc.publishAsync(
      siteTopic(SITE, 'level'),
      JSON.stringify({ level: 4, ts: Date.now(), reasons: [] }),
      { qos: 1, retain: true },
    );
    await waitFor('siren on again', sirenOn);
    await cc.endAsync(true);
    // Link lost: the official level holds for official.holdMs (60 simulated s), then only the local one counts.
    await b.stop();
    await waitFor('official level stale after the hold', () => !sirenOn());
    expect(a.level).toEqual({ local: 0, effective: 0 });
  });
});
