import { join } from 'node:path';
import { loadOrCreateVapidKeys } from '@slopeguard/control-center/warn/vapid.ts';
import type { Reading } from '@slopeguard/core';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../control-center/test/notify/helpers.ts';
import { CAP_XSD, xmllint } from '../../control-center/test/warn/helpers.ts';
import { type PushService, startPushService } from '../../control-center/test/warn/push-service.ts';
import type { DemoGateway } from '../demo/gateway.ts';
import {
  connectObserver,
  type KillBed,
  sentDeliveries,
  startKillBed,
  startSiteGateway,
} from './server-child.ts';

/**
 * Issue 11, acceptance 1, with SIGKILL: `slopeguard server` (as installed: broker, recorder,
 * control center, outbox, residents' warnings; server.yaml with notify: and warn:, a site file with
 * its area) runs as a child process. A simulated gateway sends two extensometers moving faster and
 * faster, then still, in real time; the site's rules (short windows, a 7-second hold-down) take it
 * through 1, 2, 3 and back down to 0 in about a minute and a half. The server is killed with SIGKILL
 * while the SMS gateway's webhook holds the "warning" (level 3) request it accepted but has not
 * answered, and restarted; the slope goes on.
 *
 * Every channel shows each change of the residents' message once and in order (for the levels the
 * level topic carried: caution, warning, caution, all-clear when 0 1 2 3 2 1 0; level 1 is for
 * officials only): the CAP feed (Alert, Updates, Cancel, each valid against the OASIS XSD by xmllint), the SMS gateway webhook (de-duplicating on the
 * delivery id), the SMTP server (aiosmtpd; a resident subscribed with the double opt-in), the push
 * endpoint (VAPID checked, payload decrypted), the retained notice topic and the retained level
 * topic. What a kill may add, and only for a message not yet recorded as sent: a second copy with
 * the same idempotency key (webhook: X-Slopeguard-Delivery; e-mail: Message-ID; push: the same
 * payload and tag, which a phone shows as one notification). A restart may repeat the current
 * retained level and notice, never an older one.
 */
const SITE = 'slide-a';
const AREA = 'slide-a';
const SECRET = 'warn-kill-webhook-secret-0123456789';
const KIND_LEVEL: Record<string, number> = { caution: 2, warning: 3, serious: 4, all_clear: 0 };

const SITE_FILE = `id: ${SITE}
sensors:
  - { id: e1, kind: displacement, intervalMs: 5000 }
  - { id: e2, kind: displacement, intervalMs: 5000 }
rules:
  displacement:
    level1: { mmPerDay: 1000, windowHours: 0.005 }
    level2: { mmPerDay: 100000, windowHours: 0.005, mmPerHour: 100, shortWindowHours: 0.005 }
    level3: { mmPerHour: 500, sustainHours: 0.003 }
    level4: { mmPerHour: 100000, windowMinutes: 0.3 }
  holdDown: { hours: 0.002 }
area:
  id: ${AREA}
  name: { ko: 시험 급경사지, en: "Test slope" }
  issuer: { ko: 시험구청, en: "Test Ward Office" }
  circle: { center: [37.47, 127.02], radiusKm: 0.5 }
  shelters:
    - name: { ko: 시험 주민센터, en: "Test Community Centre" }
      address: { ko: 서울특별시 서초구 태봉로 114, en: "114 Taebong-ro, Seocho-gu, Seoul" }
      position: [37.4688, 127.0357]
`;

/** mm/h of the slope after n readings: still, creeping, fast, then still again. */
const rateAfter = (n: number) => (n < 20 ? 0 : n < 50 ? 200 : n < 90 ? 1000 : 0);

/**
 * What residents are told for a sequence of official levels (docs/warnings.md): 2 caution,
 * 3 warning, 4 serious, each change of these once; back below 2, the all-clear; level 1 nothing.
 */
function residentKinds(levels: readonly number[]): string[] {
  const out: string[] = [];
  let active: string | undefined;
  for (const l of levels) {
    const kind = l >= 4 ? 'serious' : l === 3 ? 'warning' : l === 2 ? 'caution' : undefined;
    if (kind && kind !== active) out.push(kind);
    else if (!kind && active) out.push('all_clear');
    active = kind;
  }
  return out;
}

/** Consecutive repeats removed. */
const changes = <T>(xs: readonly T[]) => xs.filter((x, i) => i === 0 || x !== xs[i - 1]);

describe('residents warned through a SIGKILL of slopeguard server', () => {
  let bed: KillBed;
  let push: PushService;
  let gw: DemoGateway | undefined;
  let watcher: MqttClient | undefined;
  const levels: Array<{ retain: boolean; level: number }> = [];
  const notices: Array<{ retain: boolean; kind: string; level: number }> = [];

  const residentHooks = () =>
    [...bed.rx.accepted.values()].map((h) => (h.json.data as { kind: string }).kind);

  beforeAll(async () => {
    bed = await startKillBed({
      prefix: 'warn-kill',
      site: SITE,
      siteFile: SITE_FILE,
      secret: SECRET,
      secretEnv: 'SG_WARN_KILL_SECRET',
      from: '시험구청 <alerts@ward.example.kr>',
      observer: 'signboard',
      tail: (dataDir) => `warn:
  sender: slopeguard@ward.example.kr
  id_prefix: kr.example.ward.slopeguard
  push: { subject: "mailto:ops@ward.example.kr", vapid_file: ${join(dataDir, 'vapid.json')}, hosts: [127.0.0.1], allow_http: true }
  email: { channel: mail }
  gateway: { channel: sms }
  rate_limit: { per_minute: 60, burst: 20 }
`,
    });
    // The server's VAPID key pair, made before it starts (it keeps the file); the push endpoint checks it.
    const { keys } = loadOrCreateVapidKeys(join(bed.dataDir, 'vapid.json'));
    push = await startPushService({ vapidPublicKey: keys.publicKey });
  }, 60_000);

  afterAll(async () => {
    await bed?.close({ gw, observer: watcher });
    await push?.close();
  });

  it('shows each change once and in order on every channel, through a SIGKILL', async () => {
    await bed.server.start();
    const url = bed.mqttUrl;

    // A resident's browser subscribes to push, another resident to e-mail with the double opt-in.
    const sub = await fetch(`${bed.httpUrl}warn/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ area: AREA, lang: 'ko', subscription: push.subscribe('phone-1') }),
    });
    expect(sub.status).toBe(201);
    const form = await fetch(`${bed.httpUrl}warn/email/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ area: AREA, email: 'resident@example.kr', lang: 'ko' }).toString(),
    });
    expect(form.status).toBe(202);
    const confirmation = await waitFor('the confirmation mail', () =>
      bed.smtp.messages().find((m) => m.to === 'resident@example.kr'),
    );
    const token = /\/warn\/email\/confirm\?token=([A-Za-z0-9_-]+)/.exec(confirmation.body)?.[1] ?? '';
    const ok = await fetch(`${bed.httpUrl}warn/email/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
    });
    expect(ok.status).toBe(200);

    // A signboard follows the retained level and notice; it reconnects after the kill.
    watcher = await connectObserver(url, 'signboard-1', 'signboard', bed.observerPassword);
    watcher.on('message', (topic, payload, packet) => {
      const m = JSON.parse(payload.toString()) as { level: number; kind?: string };
      if (topic.endsWith('/level')) levels.push({ retain: packet.retain, level: m.level });
      else notices.push({ retain: packet.retain, kind: m.kind ?? '', level: m.level });
    });
    await watcher.subscribeAsync([`slopeguard/v1/${SITE}/level`, `slopeguard/v1/${SITE}/notice`], { qos: 1 });

    // The slope: each reading's displacement follows from its real timestamp and the phase's rate.
    let n = 0;
    let x = 40;
    let last = 0;
    // A real gateway agent (durable queue, uplink) whose two sensors are simulated extensometers.
    gw = await startSiteGateway({
      dir: bed.dir,
      mqttUrl: url,
      site: SITE,
      password: bed.gatewayPassword,
      source: {
        readings: (ts: number): Reading[] => {
          if (last > 0) x += (rateAfter(n) * (ts - last)) / 3_600_000;
          last = ts;
          n++;
          // A few micrometres of noise: a real extensometer never repeats itself 30 times (stuck).
          const mm = (offset: number) =>
            Math.round((x + offset + Math.sin(n * 1.7 + offset) * 0.003) * 1000) / 1000;
          return [
            { sensor: 'e1', kind: 'displacement', ts, values: { mm: mm(0) } },
            { sensor: 'e2', kind: 'displacement', ts, values: { mm: mm(5) } },
          ];
        },
        sensors: [
          { id: 'e1', kind: 'displacement' },
          { id: 'e2', kind: 'displacement' },
        ],
      },
    });
    // The "warning" request accepted, not yet answered: the server dies before it records it as sent.
    bed.receivers.killOn((hook) => (hook.json.data as { kind?: string } | undefined)?.kind === 'warning');
    const settled = () => n > 90 && levels.filter((l) => !l.retain).at(-1)?.level === 0;
    let restarted = false;
    while (!settled()) {
      if (bed.server.signal === 'SIGKILL' && !restarted) {
        // Killed in flight: the outbox's record at that moment, then the restart.
        restarted = true;
        await bed.server.exited;
        const sentAtKill = sentDeliveries(bed.outbox());
        const requestsAtKill = bed.rx.requests.length;
        await bed.server.start();
        await waitFor('the gateway to reconnect', () => gw?.connected);
        await waitFor('the held request again', () => bed.rx.requests.length > requestsAtKill);
        expect(bed.rx.requests.slice(requestsAtKill).filter((h) => sentAtKill.has(h.delivery))).toEqual([]);
      }
      // A publish in flight at the kill waits for the restarted broker (MQTT.js sends it again).
      await Promise.race([gw.publishOnce(), bed.server.exited]);
      await new Promise((r) => setTimeout(r, 500)); // the sampling interval of the field
      if (n > 400) throw new Error(`the slope never settled: ${JSON.stringify(levels)}`);
    }
    expect(restarted).toBe(true);
    await waitFor('the outbox to finish', () => {
      const rows = bed.outbox();
      return rows.length > 0 && rows.every((r) => r.state === 'sent');
    });
    await waitFor(
      'the all-clear on every channel',
      () =>
        residentHooks().includes('all_clear') && push.received.some((p) => JSON.parse(p.payload).level === 0),
    );

    // The truth: the official levels, live (not retained), in order; a restart repeats the current one.
    // Without a kill it is 0 1 2 3 2 1 0; a long restart may add a fall and a rise (the engine's
    // clock moves on while no reading comes), and every channel must follow whatever it was.
    const official = changes(levels.filter((l) => !l.retain).map((l) => l.level));
    // Level 1 may share a telemetry message with level 2: only the message's last level is published.
    expect(official.filter((l) => l !== 1).slice(0, 3), JSON.stringify(levels)).toEqual([0, 2, 3]);
    expect(official.at(-1)).toBe(0);
    const expected = residentKinds(official);

    // SMS gateway webhook: each change acted on once, in order; only the held request came twice.
    expect(residentHooks()).toEqual(expected);
    expect(bed.rx.duplicates).toBe(1);
    expect(bed.rx.refused).toEqual([]);

    // Push: the same changes; a repeat only right after the kill, of a push not recorded as sent.
    const pushes = push.received.map((p) => (JSON.parse(p.payload) as { level: number }).level);
    expect(changes(pushes)).toEqual(expected.map((k) => KIND_LEVEL[k]));
    expect(pushes.length - changes(pushes).length).toBeLessThanOrEqual(1);
    expect(push.refused).toEqual([]);

    // E-mail: the opt-in, then one mail per change; a repeat keeps its Message-ID.
    const rows = bed.outbox();
    const byDelivery = new Map(rows.map((r) => [r.delivery_id, r]));
    const warnings = bed.smtp
      .messages()
      .filter((m) => byDelivery.has(m.delivery) && !m.body.includes('/warn/email/confirm'));
    const mailLevels = [...new Map(warnings.map((m) => [m.delivery, m])).values()].map(
      (m) => byDelivery.get(m.delivery)?.level,
    );
    expect(mailLevels).toEqual(expected.map((k) => KIND_LEVEL[k]));
    const ids = new Map<string, Set<string>>();
    for (const m of warnings) ids.set(m.delivery, (ids.get(m.delivery) ?? new Set()).add(m.messageId));
    expect([...ids.values()].every((s) => s.size === 1)).toBe(true);

    // CAP: Alert, Update, Update, Cancel, each valid against the XSD.
    const feed = await (await fetch(`${bed.httpUrl}cap/feed.xml`)).text();
    const links = [...feed.matchAll(/href="[^"]*(\/cap\/alerts\/[^"]+\.xml)"/g)].map((m) => m[1] as string);
    const types: string[] = [];
    for (const [i, link] of [...links].reverse().entries()) {
      const xml = await (await fetch(`${bed.httpUrl}${link.slice(1)}`)).text();
      const v = xmllint(bed.dir, `cap-${i}.xml`, xml, CAP_XSD);
      expect(v.ok, v.output).toBe(true);
      types.push(/<msgType>(\w+)<\/msgType>/.exec(xml)?.[1] ?? '');
    }
    expect(types).toEqual(
      expected.map((k, i) => (i === 0 ? 'Alert' : k === 'all_clear' ? 'Cancel' : 'Update')),
    );

    // The signboard's notice (what an LED board shows): the warnings and the all-clear, in order.
    // Retained copies (at subscribe, after the restart) are included: a repeat of the current notice
    // folds away, an older one would show here.
    const shown = notices
      .filter((m) => m.kind === 'warning' || m.kind === 'all_clear')
      .map((m) => `${m.kind} ${m.level}`);
    expect(changes(shown)).toEqual(
      expected.map((k) => (k === 'all_clear' ? 'all_clear 0' : `warning ${KIND_LEVEL[k]}`)),
    );
    // The retained level, retained copies included, never goes back to an older level.
    expect(changes(levels.map((l) => l.level))).toEqual(official);
  }, 600_000);
});
