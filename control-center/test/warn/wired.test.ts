import { join } from 'node:path';
import { gatewayTopic, type Reading, siteTopic } from '@slopeguard/core';
import { siteConfig } from '@slopeguard/core/engine/index.ts';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ControlCenter, startControlCenter } from '../../src/index.ts';
import { parseNotifyConfig } from '../../src/notify/config.ts';
import { parseWarnConfig } from '../../src/warn/config.ts';
import type { GatewayRequest } from '../../src/warn/gateway.ts';
import { renderWarning } from '../../src/warn/messages.ts';
import { loadOrCreateVapidKeys } from '../../src/warn/vapid.ts';
import { type Mosquitto, startMosquitto } from '../mosquitto.ts';
import { tempDir, waitFor, webhookReceiver } from '../notify/helpers.ts';
import { type SmtpServer, startSmtpServer } from '../notify/smtp-server.ts';
import { type SignedIn, signIn } from '../sign-in.ts';
import { UMYEONSAN } from './fixtures.ts';
import { CAP_XSD, xmllint } from './helpers.ts';
import { type PushService, startPushService } from './push-service.ts';

/**
 * Issue 11, acceptance 1 in process: the wired control center, driven by a site's official level
 * through a rise (2 주의, 3 경계) and a fall (0: the all-clear), warns the residents of the site's
 * area on every channel, each change once and in order: the CAP feed (each message valid against
 * the XSD, checked by xmllint), the SMTP server (Debian's aiosmtpd, an e-mail subscriber who went
 * through the double opt-in on the public routes), a push service on loopback that verifies VAPID
 * and decrypts the payload (a browser subscribed through POST /warn/push), the SMS gateway's signed
 * webhook, and the retained notice topic on mosquitto. A restart with the same state adds nothing.
 * The control center runs on a fake clock; levels are set through the operator's manual level.
 */
const T0 = Date.UTC(2026, 6, 15, 9, 0);
const SECRET = 'gateway-shared-secret-for-tests';
const SITE = 'slope-a';
const AREA = { ...UMYEONSAN, id: 'umyeonsan' };

describe('residents are warned through the wired control center', () => {
  const tmp = tempDir('warn-wired');
  let broker: Mosquitto;
  let smtp: SmtpServer;
  let rx: Awaited<ReturnType<typeof webhookReceiver>>;
  let push: PushService;
  let center: ControlCenter;
  let operator: SignedIn;
  let admin: SignedIn;
  let gw: MqttClient;
  let watcher: MqttClient;
  const notices: { retain: boolean; payload: string }[] = [];
  let now = T0;
  let seq = 0;

  const start = () => {
    const notify = parseNotifyConfig({
      channels: {
        mail: {
          kind: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          require_tls: false,
          from: '서초구 급경사지 경보 <alerts@seocho.example.kr>',
        },
        sms: { kind: 'webhook', url: rx.url, secret: SECRET },
      },
    });
    if (!notify.ok) throw new Error(notify.errors.join('; '));
    const warn = parseWarnConfig(
      {
        sender: 'slopeguard@seocho.example.kr',
        id_prefix: 'kr.example.seocho.slopeguard',
        push: {
          subject: 'mailto:ops@seocho.example.kr',
          vapid_file: join(tmp.dir, 'vapid.json'),
          hosts: ['127.0.0.1'],
          allow_http: true,
        },
        email: { channel: 'mail' },
        gateway: { channel: 'sms' },
        rate_limit: { per_minute: 60, burst: 20 },
      },
      { notify: notify.value, dataDir: tmp.dir },
    );
    if (!warn.ok) throw new Error(warn.errors.join('; '));
    return startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url },
      logger: pino({ level: 'silent' }),
      metrics: new Registry(),
      webRoot: join(tmp.dir, 'no-web'),
      db: { path: join(tmp.dir, 'cc.sqlite') },
      sites: {
        configs: new Map([
          [SITE, siteConfig({ id: SITE, sensors: [{ id: 'e1', kind: 'displacement', intervalMs: 60_000 }] })],
        ]),
        statePath: join(tmp.dir, 'engine.sqlite'),
      },
      tickMs: 3_600_000,
      now: () => now,
      notify: notify.value,
      warn: { config: warn.value, areas: new Map([[SITE, AREA]]) },
    });
  };

  async function reading() {
    now += 60_000;
    const r: Reading = { sensor: 'e1', kind: 'displacement', ts: now, values: { mm: 0.01 } };
    await gw.publishAsync(
      gatewayTopic(SITE, 'gw-1', 'telemetry'),
      JSON.stringify({ seq: ++seq, readings: [r] }),
      {
        qos: 1,
      },
    );
    await vi.waitFor(() => expect(center.view.summary(SITE)?.lastReadingTs).toBe(now), { timeout: 10_000 });
    center.tick(now);
  }
  async function setLevel(level: number) {
    const res = await operator.fetch(`api/v1/sites/${SITE}/manual-level`, {
      method: 'POST',
      body: { level, reason: 'test' },
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
  }
  const settled = async () => {
    await center.notifier?.outbox.whenIdle();
  };
  /** A form post, as the public pages' forms (and mail clients' one-click unsubscribe) send it. */
  const postForm = (url: string, body: string) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

  beforeAll(async () => {
    broker = await startMosquitto();
    smtp = await startSmtpServer(tmp.dir);
    rx = await webhookReceiver({ secret: SECRET });
    const { keys } = loadOrCreateVapidKeys(join(tmp.dir, 'vapid.json'));
    push = await startPushService({ vapidPublicKey: keys.publicKey });
    center = await start();
    operator = await signIn(center, 'operator', 'oper');
    admin = await signIn(center, 'admin', 'boss');
    gw = await mqtt.connectAsync(broker.url, { clientId: 'gw-slope-a' });
    watcher = await mqtt.connectAsync(broker.url, { clientId: 'signboard' });
    watcher.on('message', (_t, payload, packet) =>
      notices.push({ retain: packet.retain, payload: payload.toString() }),
    );
    await watcher.subscribeAsync(siteTopic(SITE, 'notice'), { qos: 1 });
  });
  afterAll(async () => {
    await gw?.endAsync();
    await watcher?.endAsync();
    await center?.close();
    await push?.close();
    await rx?.close();
    await smtp?.stop();
    await broker?.stop();
    tmp.cleanup();
  });

  it('takes subscriptions on the public routes without sign-in', async () => {
    const sub = push.subscribe('phone-1');
    const res = await fetch(`${center.url}warn/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ area: AREA.id, lang: 'ko', subscription: sub }),
    });
    expect(res.status).toBe(201);
    const form = await postForm(
      `${center.url}warn/email/subscribe`,
      new URLSearchParams({ area: AREA.id, email: 'resident@example.kr', lang: 'ko' }).toString(),
    );
    expect(form.status).toBe(202);
    const mail = await waitFor('the confirmation mail', () =>
      smtp.messages().find((m) => m.to === 'resident@example.kr'),
    );
    const token = /\/warn\/email\/confirm\?token=([A-Za-z0-9_-]+)/.exec(mail.body)?.[1];
    expect(token).toBeDefined();
    // GET only shows a form (mail scanners open links); POST confirms.
    expect((await fetch(`${center.url}warn/email/confirm?token=${token}`)).status).toBe(200);
    expect(center.warn?.counts()[0]?.emailActive).toBe(0);
    const ok = await postForm(`${center.url}warn/email/confirm`, `token=${token}`);
    expect(ok.status).toBe(200);
    expect(center.warn?.counts()).toEqual([{ area: AREA.id, push: 1, emailActive: 1, emailPending: 0 }]);
  });

  it('warns every channel once per change, in order, through a rise and a fall', async () => {
    await reading(); // the site's engine starts; level 0, live
    const page0 = await fetch(`${center.url}p/${AREA.id}`);
    expect(page0.status).toBe(200);
    expect(await page0.text()).toContain('data-level="0"');
    for (const level of [2, 3, 0]) {
      await setLevel(level);
      await settled();
    }
    await waitFor('three pushes', () => push.received.length >= 3 || undefined);
    await waitFor('three gateway requests', () => rx.accepted.size >= 3 || undefined);
    await waitFor('four mails', () => smtp.messages().length >= 4 || undefined);
    await waitFor('three notices', () => notices.length >= 3 || undefined);

    // CAP: Alert, Update, Cancel, each valid against the OASIS schema.
    const feed = await (await fetch(`${center.url}cap/feed.xml`)).text();
    expect(xmllint(tmp.dir, 'feed.xml', feed).ok).toBe(true);
    const links = [...feed.matchAll(/href="[^"]*(\/cap\/alerts\/[^"]+\.xml)"/g)].map((m) => m[1] as string);
    expect(links).toHaveLength(3);
    const types: string[] = [];
    for (const [i, link] of [...links].reverse().entries()) {
      const xml = await (await fetch(`${center.url}${link.slice(1)}`)).text();
      const v = xmllint(tmp.dir, `cap-${i}.xml`, xml, CAP_XSD);
      expect(v.ok, v.output).toBe(true);
      types.push(/<msgType>(\w+)<\/msgType>/.exec(xml)?.[1] ?? '');
      expect(xml).toContain('<status>Actual</status>');
    }
    expect(types).toEqual(['Alert', 'Update', 'Cancel']);

    const kinds = ['caution', 'warning', 'all_clear'] as const;
    expect(push.received.map((p) => (JSON.parse(p.payload) as { level: number }).level)).toEqual([2, 3, 0]);
    expect([...rx.accepted.values()].map((h) => (h.json.data as unknown as GatewayRequest).kind)).toEqual(
      kinds,
    );
    const warnings = smtp.messages().filter((m) => !m.body.includes('/warn/email/confirm'));
    expect(warnings.map((m) => m.subject)).toEqual(
      kinds.map((kind) => renderWarning({ area: AREA, kind, exercise: false, issuedAt: now }).ko.subject),
    );
    for (const m of warnings) expect(m.body).toMatch(/\/warn\/email\/unsubscribe\?token=/);
    expect(notices.map((n) => (JSON.parse(n.payload) as { kind: string; level: number }).level)).toEqual([
      2, 3, 0,
    ]);
    expect(notices.map((n) => (JSON.parse(n.payload) as { kind: string }).kind)).toEqual([
      'warning',
      'warning',
      'all_clear',
    ]);
  });

  it('sends nothing again after a restart with the same state', async () => {
    const before = {
      push: push.received.length,
      hooks: rx.requests.length,
      mails: smtp.messages().length,
      notices: notices.length,
    };
    await center.close();
    center = await start();
    operator = await signIn(center, 'operator', 'oper2');
    await reading();
    center.tick(now);
    await settled();
    // The retained notice is still the all-clear on the broker; the page shows the level again.
    const page = await fetch(`${center.url}p/${AREA.id}`);
    expect(await page.text()).toContain('data-level="0"');
    expect({
      push: push.received.length,
      hooks: rx.requests.length,
      mails: smtp.messages().length,
      notices: notices.length,
    }).toEqual(before);
  });

  it('serves the page and the feed with an ETag and a short max-age, 304 on a match', async () => {
    for (const path of [`p/${AREA.id}`, 'cap/feed.xml', `cap/areas/${AREA.id}/feed.xml`]) {
      const res = await fetch(`${center.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toMatch(/max-age=15/);
      const etag = res.headers.get('etag') as string;
      expect(etag).toMatch(/^"/);
      const again = await fetch(`${center.url}${path}`, { headers: { 'if-none-match': etag } });
      expect(again.status).toBe(304);
    }
    expect((await fetch(`${center.url}p/no-such-area`)).status).toBe(404);
  });

  it('lists subscribers to admins only, audited, without logging addresses', async () => {
    admin = await signIn(center, 'admin', 'boss2');
    const asOperator = await operator.fetch(`api/v1/warn/areas/${AREA.id}/subscribers`);
    expect(asOperator.status).toBe(403);
    const counts = await operator.fetch('api/v1/warn/areas');
    expect(((await counts.json()) as { areas: unknown[] }).areas).toEqual([
      { area: AREA.id, site: SITE, push: 1, emailActive: 1, emailPending: 0 },
    ]);
    const list = await admin.fetch(`api/v1/warn/areas/${AREA.id}/subscribers`);
    expect(list.status).toBe(200);
    const { subscribers } = (await list.json()) as { subscribers: { kind: string; contact: string }[] };
    expect(subscribers.map((s) => s.kind).sort()).toEqual(['email', 'push']);
    expect(subscribers.find((s) => s.kind === 'email')?.contact).toBe('resident@example.kr');
    expect(subscribers.find((s) => s.kind === 'push')?.contact).toMatch(/^127\.0\.0\.1:\d+$/);
    const views = [...center.audit.iterate()].filter((r) => r.action === 'warn.subscribers.view');
    expect(views).toHaveLength(1);
    expect(JSON.stringify(views)).not.toContain('resident@example.kr');
  });

  it('sends a drill as an exercise on every channel, audited', async () => {
    const before = push.received.length;
    const res = await operator.fetch('api/v1/warn/drills', {
      method: 'POST',
      body: { area: AREA.id, level: 3 },
    });
    expect(res.status).toBe(200);
    await settled();
    await waitFor('the drill push', () => push.received.length > before || undefined);
    const p = JSON.parse(push.received.at(-1)?.payload ?? '{}') as { title: string; exercise: boolean };
    expect(p.exercise).toBe(true);
    expect(p.title).toContain('[훈련]');
    const { identifier } = (await res.json()) as { identifier: string };
    const xml = await (await fetch(`${center.url}cap/alerts/${encodeURIComponent(identifier)}.xml`)).text();
    expect(xml).toContain('<status>Exercise</status>');
    expect(xmllint(tmp.dir, 'drill.xml', xml, CAP_XSD).ok).toBe(true);
    expect([...center.audit.iterate()].filter((r) => r.action === 'warn.drill')).toHaveLength(1);
    const end = await operator.fetch('api/v1/warn/drills', {
      method: 'POST',
      body: { area: AREA.id, level: 0 },
    });
    expect(((await end.json()) as { msgType: string }).msgType).toBe('Cancel');
  });

  it('refuses hostile input on the public routes, counted', async () => {
    const post = (path: string, body: string, type = 'application/json') =>
      fetch(`${center.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
    expect((await post('warn/push', JSON.stringify({ area: AREA.id, extra: 1 }))).status).toBe(400);
    expect((await post('warn/push', 'x'.repeat(10_000))).status).toBe(413);
    const evil = push.subscribe('evil');
    const ssrf = { ...evil, endpoint: 'http://10.0.0.1/internal' };
    expect((await post('warn/push', JSON.stringify({ area: AREA.id, subscription: ssrf }))).status).toBe(400);
    expect(
      (
        await post(
          'warn/email/subscribe',
          'area=umyeonsan&email=not-an-address',
          'application/x-www-form-urlencoded',
        )
      ).status,
    ).toBe(400);
    const metrics = await (await fetch(`${center.url}metrics`)).text();
    expect(metrics).toMatch(/slopeguard_warn_refused_total\{route="\/warn\/push",status="400"\} 2/);
  });

  it('documents the public routes in /docs/json without sign-in', async () => {
    const doc = (await (await fetch(`${center.url}docs/json`)).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    for (const [path, method] of [
      ['/cap/feed.xml', 'get'],
      ['/cap/alerts/{file}', 'get'],
      ['/p/{area}', 'get'],
      ['/p/sw.js', 'get'],
      ['/warn/push', 'post'],
      ['/warn/email/subscribe', 'post'],
      ['/warn/email/confirm', 'post'],
      ['/warn/email/unsubscribe', 'post'],
    ] as const) {
      expect(doc.paths[path]?.[method]?.security, path).toEqual([]);
    }
    expect(doc.paths['/api/v1/warn/drills']?.post).toBeDefined();
  });

  it("unsubscribes with a mail client's one-click POST (RFC 8058), multipart or urlencoded", async () => {
    const active = () => center.warn?.counts()[0]?.emailActive;
    // A second subscriber, through the public routes as the first one came.
    const form = await postForm(
      `${center.url}warn/email/subscribe`,
      new URLSearchParams({ area: AREA.id, email: 'second@example.kr', lang: 'en' }).toString(),
    );
    expect(form.status).toBe(202);
    const confirmMail = await waitFor('the second confirmation mail', () =>
      smtp.messages().find((m) => m.to === 'second@example.kr'),
    );
    const confirmToken = /\/warn\/email\/confirm\?token=([A-Za-z0-9_-]+)/.exec(confirmMail.body)?.[1] ?? '';
    const ok = await postForm(`${center.url}warn/email/confirm`, `token=${confirmToken}`);
    expect(ok.status).toBe(200);
    expect(active()).toBe(2);
    // A drill gives both a warning mail with its List-Unsubscribe header. It starts in the same
    // second as the last drill ended (the clock has not moved): a new episode all the same.
    const drill = await operator.fetch('api/v1/warn/drills', {
      method: 'POST',
      body: { area: AREA.id, level: 2 },
    });
    expect(drill.status).toBe(200);
    await settled();
    const header = (to: string) =>
      waitFor(`a warning with List-Unsubscribe to ${to}`, () => {
        const m = smtp
          .messages()
          .filter((x) => x.to === to && x.listUnsubscribe !== 'None')
          .at(-1);
        // The header may be folded after its colon: its value starts at the "<".
        return m && /^<(https?:\/\/[^>]+)>$/.exec(m.listUnsubscribe.trim())?.[1];
      });
    const first = await header('resident@example.kr');
    const second = await header('second@example.kr');
    expect(first).toMatch(/\/warn\/email\/unsubscribe\?token=[A-Za-z0-9_-]+$/);
    // The URL is the server's own public URL: post to it as a mail provider would, through
    // undici's FormData encoder (multipart/form-data, which RFC 8058 says SHOULD be used).
    const multipart = new FormData();
    multipart.set('List-Unsubscribe', 'One-Click');
    const r1 = await fetch(first, { method: 'POST', body: multipart });
    expect(r1.status).toBe(200);
    expect(active()).toBe(1);
    const r2 = await postForm(second, 'List-Unsubscribe=One-Click');
    expect(r2.status).toBe(200);
    expect(active()).toBe(0);
    // Without the token in the URL, or with another value, nothing happens: 400, counted.
    const bare = await postForm(`${center.url}warn/email/unsubscribe`, 'List-Unsubscribe=One-Click');
    expect(bare.status).toBe(400);
    const other = await postForm(first, 'List-Unsubscribe=Yes');
    expect(other.status).toBe(400);
    const file = new FormData();
    file.set('List-Unsubscribe', new Blob(['One-Click']), 'x.txt');
    expect((await fetch(first, { method: 'POST', body: file })).status).toBe(400);
    const metrics = await (await fetch(`${center.url}metrics`)).text();
    expect(metrics).toMatch(
      /slopeguard_warn_refused_total\{route="\/warn\/email\/unsubscribe",status="400"\} 3/,
    );
    await reading();
    const end = await operator.fetch('api/v1/warn/drills', {
      method: 'POST',
      body: { area: AREA.id, level: 0 },
    });
    expect(end.status).toBe(200);
    await settled();
  });
});
