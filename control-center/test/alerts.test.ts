import { join } from 'node:path';
import { gatewayTopic, type Reading } from '@slopeguard/core';
import { siteConfig } from '@slopeguard/core/engine/index.ts';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Alert, AlertEvent } from '../src/alerts/alert-store.ts';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 10: one alert per site episode through a storm that reaches level 4 (two extensometers
 * moving 15 mm/h, readings over MQTT through Debian's mosquitto), acknowledge, manual level,
 * release of level 4 (acceptance 4), a restart mid-storm that must not open a second alert, and
 * the clear after the hold-down. The control center runs on a fake clock.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const STEP = 5 * MIN;
const T0 = Date.UTC(2026, 10, 28, 0, 0);
const SENSORS = ['e1', 'e2'];

/** Displacement in mm at time t: still until 2 h, 15 mm/h from 2 h to `stopH`, still after; a little noise. */
function readings(fromH: number, toH: number, stopH: number): Reading[] {
  const out: Reading[] = [];
  for (let t = T0 + fromH * HOUR; t <= T0 + toH * HOUR; t += STEP) {
    const h = (t - T0) / HOUR;
    const moved = 15 * Math.max(0, Math.min(h, stopH) - 2);
    SENSORS.forEach((sensor, i) => {
      const noise = 0.01 * (((t / STEP) * 7 + i) % 5);
      out.push({ sensor, kind: 'displacement', ts: t, values: { mm: moved + noise } });
    });
  }
  return out;
}

describe('alerts: one per episode, acknowledge, manual level, release, restart', () => {
  const bed = centerBed('alerts', { readings: false });
  let center: ControlCenter;
  let gw: MqttClient;
  let operator: SignedIn;
  let viewer: SignedIn;
  let seq = 0;
  let now = T0 + 3 * HOUR;

  const start = () =>
    bed.start({
      db: { path: join(bed.dir, 'cc.sqlite') },
      // The fake clock crosses more than a day; sessions must outlive it here.
      auth: { sessionTtlMs: 7 * 24 * HOUR },
      sites: {
        configs: new Map([
          [
            'slope-a',
            siteConfig({
              id: 'slope-a',
              sensors: SENSORS.map((id) => ({ id, kind: 'displacement', intervalMs: STEP })),
            }),
          ],
        ]),
        statePath: join(bed.dir, 'engine.sqlite'),
      },
      tickMs: 3_600_000,
      now: () => now,
    });

  /**
   * Sends readings as a live gateway would: the clock reaches each batch's last reading as it is
   * sent, and the next batch waits until the control center has it (a clock far ahead of the
   * readings is a backlog, which the site's data state shows as no_data).
   */
  async function send(rs: Reading[]) {
    for (let i = 0; i < rs.length; i += 500) {
      const batch = rs.slice(i, i + 500);
      const last = batch.at(-1)?.ts ?? now;
      now = Math.max(now, last);
      await gw.publishAsync(
        gatewayTopic('slope-a', 'gw-1', 'telemetry'),
        JSON.stringify({ seq: ++seq, readings: batch }),
        { qos: 1 },
      );
      await vi.waitFor(() => expect(center.view.summary('slope-a')?.lastReadingTs).toBe(last), {
        timeout: 10_000,
      });
    }
    center.tick(now);
  }
  const active = async (as: SignedIn) =>
    ((await (await as.fetch('api/v1/alerts?state=active')).json()) as { alerts: Alert[] }).alerts;
  const history = async (id: number) =>
    ((await (await operator.fetch(`api/v1/alerts/${id}`)).json()) as { history: AlertEvent[] }).history;
  const audit = (action: string) => [...center.audit.iterate()].filter((r) => r.action === action);

  beforeAll(async () => {
    center = await start();
    operator = await signIn(center, 'operator', 'oper');
    viewer = await signIn(center, 'viewer', 'view');
    gw = await mqtt.connectAsync(bed.broker.url, { clientId: 'gw-slope-a' });
  });
  afterAll(async () => {
    await gw?.endAsync();
    await bed.close();
  });

  it('opens one alert as the storm rises to level 4, keeping every change', async () => {
    await send(readings(0, 3, 99));
    expect(center.levels.level('slope-a')).toBe(4);
    const alerts = await active(viewer);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      site: 'slope-a',
      level: 4,
      maxLevel: 4,
      cleared: null,
      acknowledged: null,
    });
    const kinds = (await history(alerts[0]?.id ?? 0)).map((e) => [e.kind, e.level]);
    expect(kinds[0]).toEqual(['opened', expect.any(Number)]);
    expect(kinds.at(-1)).toEqual(['level', 4]);
  });

  it('refuses release while level 4 is still triggered, and to a viewer; audits both', async () => {
    const refused = await viewer.fetch('api/v1/sites/slope-a/release', {
      method: 'POST',
      body: { reason: 'looks fine' },
    });
    expect(refused.status).toBe(403);
    const early = await operator.fetch('api/v1/sites/slope-a/release', {
      method: 'POST',
      body: { reason: 'too early' },
    });
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: string }).error).toBe('SG_ERR_RELEASE_REFUSED');
    expect(audit('site.release').map((r) => [r.actor, r.outcome])).toEqual([
      ['view', 'refused'],
      ['oper', 'refused'],
    ]);
  });

  it('survives a restart mid-storm without a second alert', async () => {
    const before = await active(operator);
    await center.close();
    center = await start();
    operator = await signIn(center, 'operator', 'oper2');
    await send(readings(3 + 1 / 12, 4, 3));
    const after = await active(operator);
    expect(after.map((a) => a.id)).toEqual(before.map((a) => a.id));
    expect(center.levels.level('slope-a')).toBe(4);
  });

  it('lets an operator release level 4 with a reason once the slope is still, audited', async () => {
    await send(readings(4 + 1 / 12, 6, 3));
    const res = await operator.fetch('api/v1/sites/slope-a/release', {
      method: 'POST',
      body: { reason: 'inspected on site' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ site: 'slope-a', level: 3, engineLevel: 3 });
    const ok = audit('site.release').filter((r) => r.outcome === 'ok');
    expect(ok).toHaveLength(1);
    expect(ok[0]).toMatchObject({
      actor: 'oper2',
      target: 'slope-a',
      detail: { reason: 'inspected on site' },
    });
    const [alert] = await active(operator);
    expect(alert?.level).toBe(3);
    expect((await history(alert?.id ?? 0)).map((e) => e.kind)).toContain('release');
  });

  it('holds a manual level above the engine until an operator lowers it; never below the engine', async () => {
    const below = await operator.fetch('api/v1/sites/slope-a/manual-level', {
      method: 'POST',
      body: { level: 2, reason: 'calm' },
    });
    expect(below.status).toBe(409);
    expect(((await below.json()) as { error: string }).error).toBe('SG_ERR_LEVEL_BELOW_ENGINE');
    const up = await operator.fetch('api/v1/sites/slope-a/manual-level', {
      method: 'POST',
      body: { level: 4, reason: 'crack seen by patrol' },
    });
    expect(await up.json()).toMatchObject({ level: 4, engineLevel: 3 });
    // Published as the official level (retained), with the operator's reason first.
    await vi.waitFor(() => expect(center.view.summary('slope-a')?.level?.level).toBe(4));
    expect(center.view.summary('slope-a')?.level?.reasons[0]).toMatchObject({
      rule: 'manual',
      operator: 'oper2',
    });
    // Readings and ticks do not lower it.
    await send(readings(6 + 1 / 12, 7, 3));
    expect((await active(operator))[0]?.level).toBe(4);
    const down = await operator.fetch('api/v1/sites/slope-a/manual-level', {
      method: 'POST',
      body: { level: 3, reason: 'patrol: stable' },
    });
    expect(await down.json()).toMatchObject({ level: 3, engineLevel: 3 });
    expect(audit('site.manual_level').map((r) => r.outcome)).toEqual(['refused', 'ok', 'ok']);
  });

  it('acknowledges with a comment, then clears the alert after the hold-down', async () => {
    const [alert] = await active(operator);
    const ack = await operator.fetch(`api/v1/alerts/${alert?.id}/ack`, {
      method: 'POST',
      body: { comment: 'team on the way' },
    });
    expect(await ack.json()).toMatchObject({ ackBy: 'oper2', ackComment: 'team on the way' });
    await operator.fetch(`api/v1/alerts/${alert?.id}/comments`, {
      method: 'POST',
      body: { comment: 'road closed' },
    });
    // Three hold-downs of 6 h: 3 -> 2 -> 1 -> 0 within a day of quiet readings.
    await send(readings(7 + 1 / 12, 32, 3));
    expect(center.levels.level('slope-a')).toBe(0);
    expect(await active(operator)).toEqual([]);
    const all = ((await (await operator.fetch('api/v1/alerts?state=all')).json()) as { alerts: Alert[] })
      .alerts;
    expect(all).toHaveLength(1);
    expect(all[0]?.cleared).not.toBeNull();
    const kinds = (await history(alert?.id ?? 0)).map((e) => e.kind);
    expect(kinds).toEqual(
      expect.arrayContaining(['acknowledged', 'comment', 'manual_level', 'release', 'cleared']),
    );
    expect(kinds.at(-1)).toBe('cleared');
  });
});
