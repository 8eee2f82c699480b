import { join } from 'node:path';
import { gatewayTopic, siteTopic } from '@slopeguard/core';
import type { EdgeAgent } from '@slopeguard/edge/agent.ts';
import { getScenario } from '@slopeguard/simulators/scenarios/index.ts';
import { connectAsync } from 'mqtt';
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
 * time, against the project's broker, with the real alert engine (core/engine) as its local rules.
 * The siren and light are simulated outputs (no GPIO here): each switch is a JSON line in a file, the
 * same code path as GPIO up to the last call.
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
        // Two extensometers creeping at 12 mm/h: the engine's level 4 (>= 10 mm/h over 30 min,
        // corroborated by the second sensor) comes about 25 simulated minutes in.
        sensors: ['ext-1', 'ext-2'].map((id) => ({
          id,
          kind: 'displacement',
          intervalMs: 60_000,
          values: { mm: { base: 5, slopePerHour: 12 } },
        })),
      },
    ],
    outputs: [
      { kind: 'simulated', id: 'light', atLevel: 3, file: join(dir, 'outputs.jsonl') },
      { kind: 'simulated', id: 'siren', atLevel: 4, file: join(dir, 'outputs.jsonl') },
    ],
    sampling: { fastAtLevel: 2, fastIntervalMs: 10_000 },
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

  // Acceptance 3: the Umyeonsan 2011 scenario model (simulators) played through the gateway.
  it('with the uplink cut, the umyeonsan-2011 scenario reaching the tier sounds the siren', async () => {
    const dir = join(tmp.dir, 'scenario');
    broker = await testBroker(dir);
    const b = broker;
    const run = getScenario('umyeonsan-2011')?.create({ intervalMs: 300_000 });
    if (!run) throw new Error('scenario umyeonsan-2011 missing');
    const config = gatewayConfig(dir, b.url, {
      drivers: [{ driver: 'scenario', id: 'umyeonsan', scenario: 'umyeonsan-2011', intervalMs: 300_000 }],
      engine: { sensors: run.config.sensors },
      sampling: { fastAtLevel: 2, fastIntervalMs: 60_000 },
    });
    // 45 simulated hours in about 5 s. The scenario starts at the gateway clock's start (t0).
    const t0 = Date.now();
    agent = await startAgent(config, 36_000);
    await waitFor('gateway online', () =>
      b.on(gatewayTopic(SITE, GW, 'status')).some((s) => s.state === 'online'),
    );
    await b.stop(); // uplink cut
    const outputs = join(dir, 'outputs.jsonl');
    const siren = await waitFor(
      'siren on',
      () => outputLog(outputs).find((o) => o.id === 'siren' && o.on),
      30_000,
    );
    expect(agent.level.local).toBe(4);
    // Before the failure the model scripts (44.7 h in), as the scenario expects.
    const failureIn = (run.failureAt ?? 0) - run.start;
    expect(siren.ts - t0).toBeLessThan(failureIn);
    const queued = queuedReadings(join(dir, 'data', 'queue.db'));
    expect(new Set(queued.map((r) => r.sensor))).toEqual(new Set(run.sensors.map((s) => s.id)));
  });

  it('with the uplink cut, a creep reaching the tier drives the outputs; events arrive when the link returns', async () => {
    const dir = join(tmp.dir, 'a3');
    broker = await testBroker(dir);
    const b = broker;
    agent = await startAgent(gatewayConfig(dir, b.url), SCALE);
    const statusTopic = gatewayTopic(SITE, GW, 'status');
    await waitFor('gateway online', () => b.on(statusTopic).some((s) => s.state === 'online'));

    await b.stop(); // uplink cut
    const outputs = join(dir, 'outputs.jsonl');
    const on = (id: string) => outputLog(outputs).some((o) => o.id === id && o.on);
    await waitFor('siren switched on', () => on('siren'), 20_000);
    expect(on('light')).toBe(true);
    expect(agent.level.local).toBe(4);

    // Sampling sped up at level >= 2: later readings come every 10 simulated seconds instead of 60.
    await waitFor('fast readings', () => {
      const ts = queuedReadings(join(dir, 'data', 'queue.db'))
        .filter((r) => r.sensor === 'ext-1')
        .map((r) => r.ts);
      return (
        ts.length > 20 && ts.slice(-5).every((t, i, a) => i === 0 || t - (a[i - 1] as number) === 10_000)
      );
    });

    await b.start(); // link returns: the level changes made offline are reported
    const eventTopic = gatewayTopic(SITE, GW, 'event');
    const event = await waitFor(
      'level 4 event',
      () => b.on(eventTopic).find((e) => e.type === 'level' && e.level === 4),
      20_000,
    );
    expect(event).toMatchObject({ type: 'level', scope: 'local', level: 4 });
    expect((event.reasons as { rule?: string }[])[0]?.rule).toBe('displacement_rate');
    const levels = b.on(eventTopic).filter((e) => e.type === 'level');
    expect(levels[0]?.previous).toBe(0);
  });

  it('follows the official level while it is fresh: outputs show max(local, official)', async () => {
    const dir = join(tmp.dir, 'official');
    broker = await testBroker(dir);
    const b = broker;
    // Local rules off: only the official level counts here.
    agent = await startAgent(gatewayConfig(dir, b.url, { engine: { enabled: false } }), SCALE);
    const a = agent;
    await waitFor('gateway online', () =>
      b.on(gatewayTopic(SITE, GW, 'status')).some((s) => s.state === 'online'),
    );
    const cc = await connectAsync(b.url, { clientId: 'control-center-test' });
    const outputs = join(dir, 'outputs.jsonl');
    const sirenOn = () =>
      outputLog(outputs)
        .filter((o) => o.id === 'siren')
        .at(-1)?.on === true;
    const official = (level: number) =>
      cc.publishAsync(siteTopic(SITE, 'level'), JSON.stringify({ level, ts: Date.now(), reasons: [] }), {
        qos: 1,
        retain: true,
      });

    await official(4);
    await waitFor('siren on for official level 4', sirenOn);
    expect(a.level).toEqual({ local: 0, effective: 4 });
    await official(0);
    await waitFor('siren off for official level 0', () => !sirenOn());
    await official(4);
    await waitFor('siren on again', sirenOn);
    await cc.endAsync(true);
    // Link lost: the official level holds for official.holdMs (60 simulated s), then only the local one counts.
    await b.stop();
    await waitFor('official level stale after the hold', () => !sirenOn());
    expect(a.level).toEqual({ local: 0, effective: 0 });
  });
});
