import { join } from 'node:path';
import { gatewayTopic, type Reading, siteTopic } from '@slopeguard/core';
import { siteConfig } from '@slopeguard/core/engine/index.ts';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Alert, AlertEvent } from '../src/alerts/alert-store.ts';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 10 ("every change is kept in the alert's history"): one telemetry message that moves a
 * site 0 -> 1 -> 2 (a rain reading held for its time, released by the next gauge's reading) must
 * publish level 1 and then level 2 on the site's level topic, and keep both in the alert's
 * history. Only the last was published before. Through Debian's mosquitto, on a fake clock.
 */
const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 28, 0, 0);
const SITE = 'two-gauges';

const gauges = (t: number, mm1: number, mm2: number): Reading[] => [
  { sensor: 'rain-1', kind: 'rain', ts: T0 + t * MIN, values: { mm: mm1 } },
  { sensor: 'rain-2', kind: 'rain', ts: T0 + t * MIN, values: { mm: mm2 } },
];

describe('every level step of one message, in order', () => {
  const bed = centerBed('steps', { readings: false });
  let center: ControlCenter;
  let gw: MqttClient;
  let watcher: MqttClient;
  let operator: SignedIn;
  let now = T0;
  const topicLevels: number[] = [];

  beforeAll(async () => {
    center = await bed.start({
      db: { path: join(bed.dir, 'cc.sqlite') },
      sites: {
        configs: new Map([
          [
            SITE,
            siteConfig({
              id: SITE,
              sensors: ['rain-1', 'rain-2'].map((id) => ({ id, kind: 'rain', intervalMs: 10 * MIN })),
            }),
          ],
        ]),
      },
      tickMs: 3_600_000,
      now: () => now,
    });
    operator = await signIn(center, 'operator');
    watcher = await mqtt.connectAsync(bed.broker.url, { clientId: 'level-watcher' });
    watcher.on('message', (_topic, payload) => {
      topicLevels.push((JSON.parse(payload.toString()) as { level: number }).level);
    });
    await watcher.subscribeAsync(siteTopic(SITE, 'level'), { qos: 1 });
    gw = await mqtt.connectAsync(bed.broker.url, { clientId: 'gw-two-gauges' });
  });
  afterAll(async () => {
    await gw?.endAsync();
    await watcher?.endAsync();
    await bed.close();
  });

  async function send(seq: number, readings: Reading[]) {
    now = readings[0]?.ts ?? now;
    await gw.publishAsync(gatewayTopic(SITE, 'gw-1', 'telemetry'), JSON.stringify({ seq, readings }), {
      qos: 1,
    });
    await vi.waitFor(() => expect(center.view.summary(SITE)?.lastReadingTs).toBe(now), { timeout: 10_000 });
  }

  it('publishes level 1 then level 2, and keeps both in the alert history', async () => {
    await send(1, gauges(0, 0, 0));
    // 70 min on (beyond the engine's 60-min bound): rain-1's 64 mm (level 1) is held until
    // rain-2's 96 mm (level 2) confirms the time, in the same message.
    await send(2, gauges(70, 64, 96));
    expect(center.levels.level(SITE)).toBe(2);
    await vi.waitFor(() => expect(topicLevels.filter((l) => l > 0)).toEqual([1, 2]), { timeout: 10_000 });

    const res = await operator.fetch('api/v1/alerts?state=active');
    const alerts = ((await res.json()) as { alerts: Alert[] }).alerts.filter((a) => a.site === SITE);
    expect(alerts).toHaveLength(1);
    const history = (
      (await (await operator.fetch(`api/v1/alerts/${alerts[0]?.id}`)).json()) as { history: AlertEvent[] }
    ).history;
    const levels = history.filter((e) => e.kind === 'opened' || e.kind === 'level').map((e) => e.level);
    expect(levels.filter((l) => (l ?? 0) > 0)).toEqual([1, 2]);
  });
});
