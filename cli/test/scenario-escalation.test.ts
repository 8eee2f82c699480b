import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ControlCenter, startControlCenter } from '@slopeguard/control-center';
import type { Alert, AlertEvent } from '@slopeguard/control-center/alerts/alert-store.ts';
import { parseNotifyConfig } from '@slopeguard/control-center/notify/config.ts';
import { gatewayTopic, type Reading } from '@slopeguard/core';
import { createEngine } from '@slopeguard/core/engine/index.ts';
import { checkExpectations, getScenario } from '@slopeguard/simulators/scenarios/index.ts';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Mosquitto, startMosquitto } from '../../control-center/test/mosquitto.ts';
import { FakeClock, webhookReceiver } from '../../control-center/test/notify/helpers.ts';
import { type SmtpServer, startSmtpServer } from '../../control-center/test/notify/smtp-server.ts';
import { type SignedIn, signIn } from '../../control-center/test/sign-in.ts';

/**
 * Issue 10, acceptance 2, end to end on a fake clock: the heavy-rain-stable scenario (344 mm in
 * 24 h on a still slope, 60 h of six sensors every 10 min) is published by a simulated gateway over
 * Debian's mosquitto; the control center's engine, alerts and escalation run on one fake clock that
 * follows the readings; the escalation's webhook goes to a real HTTP receiver that verifies every
 * signature, its e-mail to Debian's aiosmtpd. The unit tests in control-center/test/notify drive the
 * escalation with hand-made alert updates; this one checks the whole chain from a published reading
 * to a received notice: one alert for the episode with the engine's levels, tiers and reminders on
 * time while nobody acknowledges, nothing more after an operator acknowledges through the API but
 * the all-clear, and every notice received exactly once on each channel.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const SITE = 'heavy-rain';
const SECRET = 'scenario-webhook-secret-0123456789';

interface Notice {
  /** Minutes after the episode opened, on the fake clock, when it was sent. */
  at: number;
  to: string;
  level: number;
  round: string;
}

describe('a storm scenario end to end: alert, escalation, acknowledgement, notices once', () => {
  const scenario = getScenario('heavy-rain-stable');
  if (!scenario) throw new Error('scenario heavy-rain-stable missing');
  const run = scenario.create();
  // Each sensor's interval is known, as in a real site file: no "waiting" start-up state.
  const config = {
    ...run.config,
    sensors: run.config.sensors.map((s) => ({ ...s, intervalMs: run.intervalMs })),
  };
  const clock = new FakeClock(run.start - run.intervalMs);
  let dir: string;
  let broker: Mosquitto;
  let smtp: SmtpServer;
  let rx: Awaited<ReturnType<typeof webhookReceiver>>;
  let center: ControlCenter;
  let gw: MqttClient;
  let operator: SignedIn;
  let seq = 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-scenario-esc-'));
    broker = await startMosquitto();
    smtp = await startSmtpServer(dir);
    rx = await webhookReceiver({ secret: SECRET, now: () => clock.now() });
    const notify = parseNotifyConfig(
      {
        channels: {
          sms: { kind: 'webhook', url: rx.url, secret: SECRET },
          mail: {
            kind: 'email',
            host: '127.0.0.1',
            port: smtp.port,
            require_tls: false,
            from: 'Slopeguard <alerts@city.example.kr>',
          },
        },
        escalation: {
          default_chain: 'officials',
          chains: {
            officials: {
              min_level: 1,
              repeat_minutes: 60,
              max_reminders: 10,
              tiers: [
                {
                  contacts: [
                    { id: 'duty-sms', channel: 'sms', address: '+82-10-5555-0100' },
                    { id: 'duty-mail', channel: 'mail', address: 'duty@city.example.kr' },
                  ],
                },
                {
                  after_minutes: 90,
                  contacts: [{ id: 'chief-sms', channel: 'sms', address: '+82-10-5555-0101' }],
                },
              ],
            },
          },
        },
      },
      {},
    );
    if (!notify.ok) throw new Error(notify.errors.join('\n'));
    center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url },
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      webRoot: join(dir, 'no-web'),
      db: { path: join(dir, 'control-center.sqlite') },
      auth: { sessionTtlMs: 30 * 24 * HOUR },
      sites: { configs: new Map([[SITE, config]]), statePath: join(dir, 'engine-state.sqlite') },
      // The test ticks the control center itself, at the readings' times.
      tickMs: 24 * HOUR,
      now: () => clock.now(),
      notify: notify.value,
      notifyClock: clock,
    });
    operator = await signIn(center, 'operator', 'duty');
    gw = await mqtt.connectAsync(broker.url, { clientId: `${SITE}.gw-1` });
  }, 60_000);

  afterAll(async () => {
    await gw?.endAsync();
    await center?.close();
    await rx?.close();
    await smtp?.stop();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Moves the clock to `ts` (escalation timers fire on the way), publishes the instant, waits. */
  async function publishAt(ts: number, readings: Reading[]) {
    clock.advance(ts - clock.now());
    await center.notifier?.outbox.whenIdle();
    await gw.publishAsync(gatewayTopic(SITE, 'gw-1', 'telemetry'), JSON.stringify({ seq: ++seq, readings }), {
      qos: 1,
    });
    await vi.waitFor(() => expect(center.view.summary(SITE)?.lastReadingTs).toBe(ts), { timeout: 10_000 });
    center.tick(ts);
    await center.notifier?.outbox.whenIdle();
  }

  const alerts = async () =>
    ((await (await operator.fetch('api/v1/alerts?state=all')).json()) as { alerts: Alert[] }).alerts;

  it('runs the whole storm: one alert with the engine levels, escalation until acknowledged, each notice once', async () => {
    // The reference: the same readings through the pure engine, alone.
    const reference = createEngine(config);
    const expected: Array<{ ts: number; level: number }> = [];
    for (const r of run.readings()) for (const c of reference.push(r)) expected.push(c);
    expect(expected.map((c) => c.level)).toEqual([1, 2, 1, 0]);
    expect(
      checkExpectations(
        run.expectations,
        expected.map((c) => ({ ...c, level: c.level as 0 | 1 | 2 | 3 | 4, reasons: [] })),
        run.failureAt,
      ).filter((r) => !r.ok),
    ).toEqual([]);
    const opened = expected[0]?.ts as number;
    const ackAt = opened + 350 * MIN;
    let acked: Alert | undefined;

    for (let ts = run.start; ts <= run.end; ts += run.intervalMs) {
      if (acked === undefined && ts > ackAt) {
        const [open] = (await alerts()).filter((a) => a.cleared === null);
        if (!open) throw new Error('no open alert to acknowledge');
        const res = await operator.fetch(`api/v1/alerts/${open.id}/ack`, {
          method: 'POST',
          body: { comment: '현장 확인 중 · checking on site' },
        });
        expect(res.status).toBe(200);
        acked = (await res.json()) as Alert;
        await center.notifier?.outbox.whenIdle();
      }
      await publishAt(ts, run.readingsAt(ts));
    }
    await center.notifier?.outbox.whenIdle();

    // One alert for the one episode, opened and cleared at the engine's times, with its levels.
    const all = await alerts();
    expect(all).toHaveLength(1);
    const alert = all[0] as Alert;
    expect(alert).toMatchObject({ site: SITE, opened, maxLevel: 2, ackBy: 'duty' });
    expect(alert.cleared).toBe(expected.at(-1)?.ts);
    const res = await operator.fetch(`api/v1/alerts/${alert.id}`);
    const history = ((await res.json()) as { history: AlertEvent[] }).history;
    const levelEvents = history
      .filter((e) => e.kind === 'opened' || e.kind === 'level' || e.kind === 'cleared')
      .map((e) => [e.kind, e.ts, e.level]);
    expect(levelEvents).toEqual([
      ['opened', expected[0]?.ts, 1],
      ['level', expected[1]?.ts, 2],
      ['level', expected[2]?.ts, 1],
      ['level', expected[3]?.ts, 0],
      ['cleared', expected[3]?.ts, 0],
    ]);
    expect(history.filter((e) => e.kind === 'data_state')).toEqual([]);

    // What the receivers got, each with the fake-clock minute it was sent at.
    const minute = (t: number) => Math.round((t - opened) / MIN);
    const hooks: Notice[] = [...rx.accepted.values()].map((h) => ({
      at: minute(Number(h.headers['x-slopeguard-timestamp'])),
      to: String(h.json.to),
      level: Number(h.json.level),
      round: String(h.json.round),
    }));
    const outbox = center.notifier?.outbox;
    const mails: Notice[] = smtp.messages().map((m) => {
      const d = outbox?.get(m.delivery);
      if (!d) throw new Error(`a mail with unknown delivery ${m.delivery}`);
      return { at: minute(d.createdAt), to: m.to, level: d.level, round: d.round };
    });
    const order = (a: Notice, b: Notice) => a.at - b.at || a.to.localeCompare(b.to);
    // Tier 1 at once and every 60 min; tier 2 after 90 min and every 60 min after; a level change
    // goes at once to every tier already told (in its current reminder round); the acknowledgement
    // at +350 min stops it all; the all-clear goes to both tiers when the alert clears.
    const clearAt = minute(expected[3]?.ts as number);
    const up = minute(expected[1]?.ts as number);
    const duty = (to: string) => [
      { at: 0, to, level: 1, round: 'g1.r0' },
      { at: 60, to, level: 1, round: 'g1.r1' },
      { at: 120, to, level: 1, round: 'g1.r2' },
      { at: 180, to, level: 1, round: 'g1.r3' },
      { at: 240, to, level: 1, round: 'g1.r4' },
      { at: up, to, level: 2, round: 'g1.r4' },
      { at: 300, to, level: 2, round: 'g1.r5' },
      { at: clearAt, to, level: 0, round: 'clear' },
    ];
    const chief = '+82-10-5555-0101';
    expect(up).toBe(250);
    expect(hooks.sort(order)).toEqual(
      [
        ...duty('+82-10-5555-0100'),
        { at: 90, to: chief, level: 1, round: 'g1.r0' },
        { at: 150, to: chief, level: 1, round: 'g1.r1' },
        { at: 210, to: chief, level: 1, round: 'g1.r2' },
        { at: up, to: chief, level: 2, round: 'g1.r2' },
        { at: 270, to: chief, level: 2, round: 'g1.r3' },
        { at: 330, to: chief, level: 2, round: 'g1.r4' },
        { at: clearAt, to: chief, level: 0, round: 'clear' },
      ].sort(order),
    );
    expect(mails.sort(order)).toEqual(duty('duty@city.example.kr'));

    // Exactly once: no delivery id reached a receiver twice, none was refused, all are recorded sent.
    expect(rx.requests).toHaveLength(rx.accepted.size);
    expect(rx.refused).toEqual([]);
    expect(new Set(smtp.messages().map((m) => m.messageId)).size).toBe(mails.length);
    const stats = outbox?.stats();
    expect(stats).toMatchObject({ queued: 0, failed: 0, sent: hooks.length + mails.length });
    // Every notice is in the audit chain, which is intact.
    const sent = [...center.audit.iterate()].filter((r) => r.action === 'notification.sent');
    expect(sent).toHaveLength(hooks.length + mails.length);
  }, 120_000);
});
