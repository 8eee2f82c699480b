import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { Outbox } from '../../src/notify/outbox.ts';
import { enqueuePush, type WarningNotice } from '../../src/warn/fanout.ts';
import { renderWarning } from '../../src/warn/messages.ts';
import { type PushPayload, topicFor, webPushChannel } from '../../src/warn/push-channel.ts';
import { PushSubscriptions } from '../../src/warn/push-store.ts';
import { loadOrCreateVapidKeys, type VapidKeys } from '../../src/warn/vapid.ts';
import { FakeClock, MemoryAudit, tempDir } from '../notify/helpers.ts';
import { UMYEONSAN } from './fixtures.ts';
import { openWarnDb } from './helpers.ts';
import { type PushService, startPushService } from './push-service.ts';

const SUBJECT = 'mailto:duty@seocho.example.kr';

function notice(kind: 'warning' | 'serious', round: string): WarningNotice {
  return {
    area: 'umyeonsan',
    alertId: 'alert-7',
    level: kind === 'serious' ? 4 : 3,
    kind,
    round,
    exercise: true,
    rendered: renderWarning({
      area: UMYEONSAN,
      kind,
      exercise: true,
      issuedAt: Date.UTC(2026, 6, 15, 18, 40),
    }),
    pageUrl: 'https://warn.seocho.example.kr/p/umyeonsan',
  };
}

describe('VAPID keys', () => {
  const tmp = tempDir('vapid');
  afterAll(() => tmp.cleanup());

  it('are made at the first start in a 0600 file and kept', () => {
    const file = join(tmp.dir, 'vapid.json');
    const first = loadOrCreateVapidKeys(file);
    expect(first.created).toBe(true);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(first.keys.publicKey, 'base64url')).toHaveLength(65);
    const second = loadOrCreateVapidKeys(file);
    expect(second).toEqual({ keys: first.keys, created: false });
  });

  it('refuses a key file others can read, and a malformed one', () => {
    const file = join(tmp.dir, 'open.json');
    loadOrCreateVapidKeys(file);
    chmodSync(file, 0o644);
    expect(() => loadOrCreateVapidKeys(file)).toThrow(
      expect.objectContaining({ code: 'SG_ERR_WARN_KEYS', message: expect.stringMatching(/chmod 600/) }),
    );
    const bad = join(tmp.dir, 'bad.json');
    writeFileSync(bad, '{"publicKey":"x"}', { mode: 0o600 });
    expect(() => loadOrCreateVapidKeys(bad)).toThrow(expect.objectContaining({ code: 'SG_ERR_WARN_KEYS' }));
  });
});

describe('web push, the real protocol against a loopback push service', () => {
  const tmp = tempDir('push');
  let db: DatabaseSync;
  let vapid: VapidKeys;
  let service: PushService;
  let store: PushSubscriptions;
  let outbox: Outbox;
  const clock = new FakeClock();
  const lines: string[] = [];

  beforeAll(async () => {
    db = openWarnDb(join(tmp.dir, 'ops.db'));
    vapid = loadOrCreateVapidKeys(join(tmp.dir, 'vapid.json')).keys;
    service = await startPushService({ vapidPublicKey: vapid.publicKey });
    store = new PushSubscriptions({
      db,
      allowedHosts: ['127.0.0.1'],
      allowHttp: true,
      now: () => clock.now(),
    });
    const other = webpush.generateVAPIDKeys();
    const log = pino(
      { level: 'trace' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    outbox = new Outbox({
      db,
      clock,
      audit: new MemoryAudit(),
      log,
      retry: { baseMs: 1_000, jitter: 0 },
      channels: [
        webPushChannel({ id: 'push', store, vapid, subject: SUBJECT }),
        // Announces our public key but signs with another private key: a forged sender.
        webPushChannel({
          id: 'forged',
          store,
          vapid: { publicKey: vapid.publicKey, privateKey: other.privateKey },
          subject: SUBJECT,
        }),
      ],
    });
    outbox.start();
  });
  afterAll(async () => {
    await outbox.stop();
    await service.close();
    db.close();
    tmp.cleanup();
  });

  it('refuses subscriptions that are not a push service or not a P-256 key, without quoting them', () => {
    const good = service.subscribe('probe');
    const strict = new PushSubscriptions({ db });
    const cases: [unknown, RegExp][] = [
      [{ ...good, endpoint: 'https://10.0.0.5/admin' }, /not a known push service/],
      [good, /must be https/],
      [
        { ...good, endpoint: 'https://fcm.googleapis.com/fcm/send/x', keys: { ...good.keys, auth: 'AAAA' } },
        /auth/,
      ],
      [
        {
          endpoint: 'https://fcm.googleapis.com/fcm/send/x',
          keys: {
            p256dh: Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 0xff)]).toString('base64url'),
            auth: good.keys.auth,
          },
        },
        /not a P-256 public key/,
      ],
      [null, /expected a push subscription/],
    ];
    for (const [sub, msg] of cases) {
      let error: Error | undefined;
      try {
        strict.subscribe('umyeonsan', sub);
      } catch (err) {
        error = err as Error;
      }
      expect(error).toMatchObject({ code: 'SG_ERR_WARN_SUBSCRIPTION', message: expect.stringMatching(msg) });
      expect(error?.message).not.toContain('10.0.0.5');
    }
    expect(store.count()).toBe(0);
  });

  it('delivers to every subscriber of the area: signature verified, payload decrypted', async () => {
    const a1 = store.subscribe('umyeonsan', service.subscribe('a1'), 'ko');
    store.subscribe('umyeonsan', service.subscribe('a2'), 'en');
    store.subscribe('jangsan', service.subscribe('b1'), 'ko');
    // The browser renewed its keys: the same endpoint stays one subscription, with the new keys.
    expect(store.subscribe('umyeonsan', service.subscribe('a1'), 'ko')).toBe(a1);
    expect(store.count('umyeonsan')).toBe(2);

    const n = notice('serious', 'cap-1');
    expect(enqueuePush(outbox, store, 'push', n)).toBe(2);
    expect(enqueuePush(outbox, store, 'push', n)).toBe(0); // a restart fans out again: nothing new
    await outbox.whenIdle();
    expect(service.refused).toEqual([]);
    expect(service.received.map((r) => r.name).sort()).toEqual(['a1', 'a2']);
    for (const r of service.received) {
      const p = JSON.parse(r.payload) as PushPayload;
      const lang = r.name === 'a1' ? 'ko' : 'en';
      expect(p.title).toBe(n.rendered[lang].subject);
      expect(p.body).toBe(n.rendered[lang].long);
      expect(p.body).toContain('[훈련');
      expect(p).toMatchObject({ level: 4, exercise: true, url: n.pageUrl, tag: 'slopeguard-umyeonsan' });
      expect(r.claims.sub).toBe(SUBJECT);
      expect(r.claims.aud).toBe(service.origin);
      expect(r.headers.urgency).toBe('high');
      expect(r.headers.topic).toBe(topicFor('umyeonsan'));
    }
    // The outbox names subscriptions by id only: no endpoint or key in any delivery record.
    const rows = JSON.stringify(db.prepare('SELECT * FROM notify_outbox').all());
    expect(rows).not.toContain(service.origin);
    expect(rows).not.toContain(store.get(a1)?.keys.p256dh ?? 'x');
  });

  it('deletes the subscription on unsubscribe; later warnings do not reach it', async () => {
    const a2 = store.recipients('umyeonsan').find((r) => r.lang === 'en')?.id ?? '';
    expect(store.unsubscribe(a2)).toBe(true);
    expect(store.get(a2)).toBeUndefined();
    expect(
      db.prepare("SELECT count(*) AS n FROM warn_push_subscriptions WHERE endpoint LIKE '%/a2'").get(),
    ).toEqual({
      n: 0,
    });
    expect(store.unsubscribe(a2)).toBe(false);
    service.received.length = 0;
    enqueuePush(outbox, store, 'push', notice('warning', 'cap-2'));
    await outbox.whenIdle();
    expect(service.received.map((r) => r.name)).toEqual(['a1']);
    expect(service.received[0]?.headers.urgency).toBe('high');
  });

  it('sends nothing to a resident who unsubscribed after the fan-out', async () => {
    const c1 = store.subscribe('umyeonsan', service.subscribe('c1'), 'ko');
    service.received.length = 0;
    enqueuePush(outbox, store, 'push', notice('serious', 'cap-3'));
    store.unsubscribe(c1); // before the outbox's next turn
    await outbox.whenIdle();
    expect(service.received.map((r) => r.name)).toEqual(['a1']);
    const failed = outbox.forAlert('alert-7').filter((d) => d.recipientId === `push:${c1}`);
    expect(failed).toMatchObject([{ state: 'failed', lastError: 'unsubscribed' }]);
  });

  it('deletes a subscription the push service says is gone (410)', async () => {
    const d1 = store.subscribe('umyeonsan', service.subscribe('d1'), 'ko');
    service.respond('d1', 410);
    enqueuePush(outbox, store, 'push', notice('serious', 'cap-4'));
    await outbox.whenIdle();
    expect(store.get(d1)).toBeUndefined();
    const d = outbox.forAlert('alert-7').find((x) => x.recipientId === `push:${d1}`);
    expect(d).toMatchObject({ state: 'failed', attempts: 1 });
  });

  it('the push service refuses a forged VAPID signature', async () => {
    service.refused.length = 0;
    const id = store.recipients('umyeonsan')[0]?.id ?? '';
    outbox.enqueue({
      alertId: 'alert-forged',
      level: 4,
      channel: 'forged',
      recipient: { id: `push:${id}`, address: id },
      message: { subject: 's', text: 't' },
    });
    await outbox.whenIdle();
    expect(service.refused).toEqual([{ name: 'a1', reason: 'bad signature' }]);
    expect(outbox.forAlert('alert-forged')).toMatchObject([{ state: 'failed', lastError: 'HTTP 401' }]);
  });

  it('never logged an endpoint or a key', () => {
    const all = lines.join('');
    expect(all.length).toBeGreaterThan(0);
    expect(all).not.toContain(service.origin);
    expect(all).not.toContain('127.0.0.1');
    expect(all).not.toContain(vapid.privateKey);
  });
});
