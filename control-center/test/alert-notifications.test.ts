import { join } from 'node:path';
import { gatewayTopic } from '@slopeguard/core';
import { siteConfig } from '@slopeguard/core/engine/index.ts';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseNotifyConfig } from '../src/notify/config.ts';
import { maskAddress } from '../src/notify/query.ts';
import type { ControlCenter } from '../src/server.ts';
import { centerBed } from './center-bed.ts';
import { FakeClock, webhookReceiver } from './notify/helpers.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * GET /api/v1/alerts/{id}/notifications (issue 12: "the notifications sent", "escalation state"):
 * the outbox's delivery records of an alert, with the contacts' addresses in full for admins only
 * and masked for viewers and operators, and where the escalation stands (tiers told and when, the
 * next tier and reminder, stopped by whom). A real control center, mosquitto, a real webhook
 * receiver; the escalation on a fake clock.
 */
const MIN = 60_000;
const SITE = 'slope-n';
const SECRET = 'notifications-route-secret-0123456789';
const PHONE = '+82-10-5555-0100';
const MAIL = 'chief@city.example.kr';

interface Body {
  alert: number;
  addresses: 'full' | 'masked';
  notifications: Array<{
    recipientId: string;
    address: string;
    state: string;
    round: string;
    created: number;
  }>;
  escalation: {
    running: boolean;
    startedAt: number | null;
    reached: number;
    tiers: Array<{
      tier: number;
      dueAt: number | null;
      told: boolean;
      toldAt: number | null;
      contacts: string[];
    }>;
    nextTierAt: number | null;
    nextReminderAt: number | null;
    stopped: { reason: string; by: string | null; at: number | null } | null;
  } | null;
}

describe('notifications and escalation state of an alert', () => {
  const clock = new FakeClock(Date.UTC(2026, 10, 29, 3, 0));
  const bed = centerBed('notifications', { readings: false });
  let rx: Awaited<ReturnType<typeof webhookReceiver>>;
  let center: ControlCenter;
  let gw: MqttClient;
  let viewer: SignedIn;
  let operator: SignedIn;
  let admin: SignedIn;
  let alertId = 0;
  let opened = 0;

  const read = async (as: SignedIn) => {
    const res = await as.fetch(`api/v1/alerts/${alertId}/notifications`);
    expect(res.status).toBe(200);
    return (await res.json()) as Body;
  };

  beforeAll(async () => {
    rx = await webhookReceiver({ secret: SECRET, now: () => clock.now() });
    const notify = parseNotifyConfig(
      {
        channels: { sms: { kind: 'webhook', url: rx.url, secret: SECRET } },
        escalation: {
          default_chain: 'officials',
          chains: {
            officials: {
              min_level: 2,
              repeat_minutes: 10,
              max_reminders: 3,
              tiers: [
                { contacts: [{ id: 'duty-officer', channel: 'sms', address: PHONE }] },
                { after_minutes: 5, contacts: [{ id: 'chief', channel: 'sms', address: MAIL }] },
              ],
            },
          },
        },
      },
      {},
    );
    if (!notify.ok) throw new Error(notify.errors.join('\n'));
    center = await bed.start({
      db: { path: join(bed.dir, 'cc.sqlite') },
      sites: {
        configs: new Map([
          [
            SITE,
            siteConfig({ id: SITE, sensors: [{ id: 'e1', kind: 'displacement', intervalMs: 5 * MIN }] }),
          ],
        ]),
        statePath: join(bed.dir, 'engine.sqlite'),
      },
      tickMs: 3_600_000,
      now: () => clock.now(),
      notify: notify.value,
      notifyClock: clock,
    });
    viewer = await signIn(center, 'viewer', 'view');
    operator = await signIn(center, 'operator', 'oper');
    admin = await signIn(center, 'admin', 'boss');
    // One reading starts the site's engine; an operator's manual level 3 opens the alert.
    gw = await mqtt.connectAsync(bed.broker.url, { clientId: `${SITE}.gw-1` });
    await gw.publishAsync(
      gatewayTopic(SITE, 'gw-1', 'telemetry'),
      JSON.stringify({
        seq: 1,
        readings: [{ sensor: 'e1', kind: 'displacement', ts: clock.now(), values: { mm: 1 } }],
      }),
      { qos: 1 },
    );
    await vi.waitFor(() => expect(center.levels.level(SITE)).toBe(0), { timeout: 10_000 });
    const res = await operator.fetch(`api/v1/sites/${SITE}/manual-level`, {
      method: 'POST',
      body: { level: 3, reason: 'crack on the road above' },
    });
    expect(res.status).toBe(200);
    const list = (await (await viewer.fetch('api/v1/alerts')).json()) as { alerts: Array<{ id: number }> };
    alertId = list.alerts[0]?.id ?? 0;
    opened = clock.now();
    await center.notifier?.outbox.whenIdle();
  }, 60_000);

  afterAll(async () => {
    await gw?.endAsync();
    await bed.close();
    await rx?.close();
  });

  it('masks the middle of an address, keeps enough to tell contacts apart', () => {
    expect(maskAddress(PHONE)).toBe('••••••••0100');
    expect(maskAddress(MAIL)).toBe('c***@city.example.kr');
    expect(maskAddress('12345')).toBe('•••••');
    expect(maskAddress('')).toBe('');
  });

  it('lists the first tier sent at once; viewers and operators see masked addresses, admins full', async () => {
    const v = await read(viewer);
    expect(v.addresses).toBe('masked');
    expect(v.notifications).toEqual([
      expect.objectContaining({
        recipientId: 'duty-officer',
        address: '••••••••0100',
        state: 'sent',
        round: 'g1.r0',
      }),
    ]);
    expect(JSON.stringify(v)).not.toContain('5555');
    expect((await read(operator)).notifications[0]?.address).toBe('••••••••0100');
    const a = await read(admin);
    expect(a.addresses).toBe('full');
    expect(a.notifications[0]?.address).toBe(PHONE);
    expect(rx.accepted.size).toBe(1);
  });

  it('says which tier was told when, and when the next tier and reminder are due', async () => {
    const e = (await read(viewer)).escalation;
    expect(e).toMatchObject({ running: true, startedAt: opened, reached: 1, stopped: null });
    expect(e?.tiers).toEqual([
      { tier: 1, dueAt: opened, told: true, toldAt: opened, contacts: ['duty-officer'] },
      { tier: 2, dueAt: opened + 5 * MIN, told: false, toldAt: null, contacts: ['chief'] },
    ]);
    expect(e?.nextTierAt).toBe(opened + 5 * MIN);
    expect(e?.nextReminderAt).toBe(opened + 10 * MIN);
    // Five minutes on, nobody acknowledged: tier 2 is told, no tier is left.
    clock.advance(5 * MIN);
    await center.notifier?.outbox.whenIdle();
    const later = (await read(admin)).escalation;
    expect(later?.reached).toBe(2);
    expect(later?.tiers[1]).toMatchObject({ told: true, toldAt: opened + 5 * MIN });
    expect(later?.nextTierAt).toBeNull();
    expect(later?.nextReminderAt).toBe(opened + 10 * MIN);
  });

  it('says the escalation was stopped, by whom and when, once acknowledged', async () => {
    const ack = await operator.fetch(`api/v1/alerts/${alertId}/ack`, {
      method: 'POST',
      body: { comment: 'on my way' },
    });
    expect(ack.status).toBe(200);
    const e = (await read(viewer)).escalation;
    expect(e).toMatchObject({
      running: false,
      nextTierAt: null,
      nextReminderAt: null,
      stopped: { reason: 'acknowledged', by: 'oper', at: clock.now() },
    });
    // The reminder that was due no longer goes out.
    clock.advance(30 * MIN);
    await center.notifier?.outbox.whenIdle();
    expect((await read(viewer)).notifications).toHaveLength(2);
  });

  it('refuses an anonymous request and answers 404 for an unknown alert', async () => {
    expect((await fetch(`${center.url}api/v1/alerts/${alertId}/notifications`)).status).toBe(401);
    const missing = await viewer.fetch('api/v1/alerts/99999/notifications');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toBe('SG_ERR_NO_ALERT');
  });
});
