import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailChannel } from '../../src/notify/channels/email.ts';
import { Outbox } from '../../src/notify/outbox.ts';
import { EmailSubscriptions } from '../../src/warn/email-subscriptions.ts';
import type { WarningNotice } from '../../src/warn/fanout.ts';
import { renderWarning } from '../../src/warn/messages.ts';
import {
  enqueueConfirmation,
  enqueueEmail,
  subscriberEmailChannel,
} from '../../src/warn/subscriber-email.ts';
import { FakeClock, MemoryAudit, tempDir } from '../notify/helpers.ts';
import { type SmtpServer, startSmtpServer } from '../notify/smtp-server.ts';
import { UMYEONSAN } from './fixtures.ts';
import { openWarnDb } from './helpers.ts';

const BASE = 'https://warn.seocho.example.kr';
const HOUR = 3600_000;

function notice(round: string, kind: 'warning' | 'all_clear' = 'warning'): WarningNotice {
  return {
    area: 'umyeonsan',
    alertId: 'alert-9',
    level: kind === 'warning' ? 3 : 0,
    kind,
    round,
    exercise: true,
    rendered: renderWarning({
      area: UMYEONSAN,
      kind,
      exercise: true,
      issuedAt: Date.UTC(2026, 6, 15, 18, 40),
    }),
  };
}

const link = (body: string, what: 'confirm' | 'unsubscribe') =>
  new RegExp(`${BASE}/warn/email/${what}\\?token=([A-Za-z0-9_-]+)`).exec(body)?.[1];

describe('e-mail subscriptions with double opt-in, against aiosmtpd', () => {
  const tmp = tempDir('warn-email');
  const clock = new FakeClock();
  let smtp: SmtpServer;
  let db: DatabaseSync;
  let store: EmailSubscriptions;
  let outbox: Outbox;
  const mailTo = (address: string) => smtp.messages().filter((m) => m.to === address);

  beforeAll(async () => {
    smtp = await startSmtpServer(tmp.dir);
    db = openWarnDb(join(tmp.dir, 'ops.db'));
    store = new EmailSubscriptions({ db, now: () => clock.now() });
    const mail = emailChannel({
      id: 'smtp',
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      requireTls: false,
      from: '서초구 급경사지 경보 <alerts@seocho.example.kr>',
      timeoutMs: 5_000,
    });
    outbox = new Outbox({
      db,
      clock,
      audit: new MemoryAudit(),
      channels: [subscriberEmailChannel({ id: 'residents-mail', mail, store, baseUrl: BASE })],
    });
    outbox.start();
  });
  afterAll(async () => {
    await outbox.stop();
    await smtp.stop();
    db.close();
    tmp.cleanup();
  });

  it('sends warnings only after the resident confirms, each with an unsubscribe link and header', async () => {
    const r = store.request('umyeonsan', 'resident@Example.KR', 'ko');
    expect(r.sendConfirmation).toBe(true);
    // Asking again at once sends no second mail.
    expect(store.request('umyeonsan', 'resident@example.kr', 'ko')).toEqual({
      id: r.id,
      sendConfirmation: false,
    });
    enqueueConfirmation(outbox, 'residents-mail', r.id, clock.now());
    await outbox.whenIdle();

    // Pending: a warning does not reach it.
    expect(enqueueEmail(outbox, store, 'residents-mail', notice('cap-1'))).toBe(0);

    const confirmMail = mailTo('resident@example.kr');
    expect(confirmMail).toHaveLength(1);
    expect(confirmMail[0]?.subject).toBe('급경사지 경보 메일 신청 확인');
    const token = link(confirmMail[0]?.body ?? '', 'confirm') ?? '';
    expect(token.length).toBeGreaterThan(20);
    // Only the hash of the opt-in token is stored.
    expect(JSON.stringify(db.prepare('SELECT * FROM warn_email_subscriptions').all())).not.toContain(token);
    expect(store.confirm('not-a-token')).toEqual({ ok: false, reason: 'unknown' });
    expect(store.confirm(token)).toEqual({ ok: true, area: 'umyeonsan' });
    expect(store.confirm(token)).toEqual({ ok: false, reason: 'unknown' }); // one time

    expect(enqueueEmail(outbox, store, 'residents-mail', notice('cap-2'))).toBe(1);
    expect(enqueueEmail(outbox, store, 'residents-mail', notice('cap-2'))).toBe(0);
    await outbox.whenIdle();
    const warnings = mailTo('resident@example.kr').filter(
      (m) => m.subject !== '급경사지 경보 메일 신청 확인',
    );
    expect(warnings).toHaveLength(1);
    const w = warnings[0];
    const n = notice('cap-2');
    expect(w?.subject).toBe(n.rendered.ko.subject);
    expect(w?.body).toContain(n.rendered.ko.full);
    expect(w?.body).toContain('수신 거부: ');
    expect(link(w?.body ?? '', 'unsubscribe')).toBe(store.get(r.id)?.unsubscribeToken);
    // The same link as the one-click unsubscribe headers of RFC 8058; the opt-in mail has none.
    // (Folded after the colon, as nodemailer may: the value starts at the "<".)
    expect(w?.listUnsubscribe.trim()).toBe(
      `<${BASE}/warn/email/unsubscribe?token=${store.get(r.id)?.unsubscribeToken}>`,
    );
    expect(w?.listUnsubscribePost).toBe('List-Unsubscribe=One-Click');
    expect(confirmMail[0]?.listUnsubscribe).toBe('None');
    expect(confirmMail[0]?.listUnsubscribePost).toBe('None');
    // The outbox knows the subscription id, never the address.
    expect(JSON.stringify(db.prepare('SELECT * FROM notify_outbox').all())).not.toContain('resident@');
  });

  it('writes to an English subscriber in English', async () => {
    const r = store.request('umyeonsan', 'visitor@example.org', 'en');
    enqueueConfirmation(outbox, 'residents-mail', r.id, clock.now());
    await outbox.whenIdle();
    const token = link(mailTo('visitor@example.org')[0]?.body ?? '', 'confirm') ?? '';
    expect(store.confirm(token).ok).toBe(true);
    enqueueEmail(outbox, store, 'residents-mail', notice('cap-3'));
    await outbox.whenIdle();
    const m = mailTo('visitor@example.org').find((x) => x.body.includes('Unsubscribe: '));
    expect(m?.subject).toBe(notice('cap-3').rendered.en.subject);
    expect(m?.body).toContain('This is a drill.');
  });

  it('unsubscribing with the link deletes the address; nothing more is sent to it', async () => {
    const id = store.recipients('umyeonsan').find((x) => x.lang === 'ko')?.id ?? '';
    const token = store.get(id)?.unsubscribeToken ?? '';
    const before = mailTo('resident@example.kr').length;
    enqueueEmail(outbox, store, 'residents-mail', notice('cap-4'));
    expect(store.unsubscribe(token)).toBe(true); // after the fan-out, before the send
    await outbox.whenIdle();
    expect(mailTo('resident@example.kr')).toHaveLength(before);
    expect(store.get(id)).toBeUndefined();
    expect(JSON.stringify(db.prepare('SELECT * FROM warn_email_subscriptions').all())).not.toContain(
      'resident@',
    );
    expect(store.unsubscribe(token)).toBe(false);
    expect(enqueueEmail(outbox, store, 'residents-mail', notice('cap-5'))).toBe(1); // the English one only
  });

  it('forgets an address whose opt-in expired', async () => {
    const r = store.request('umyeonsan', 'typo@example.kr', 'ko');
    enqueueConfirmation(outbox, 'residents-mail', r.id, clock.now());
    await outbox.whenIdle();
    const token = link(mailTo('typo@example.kr')[0]?.body ?? '', 'confirm') ?? '';
    clock.advance(25 * HOUR);
    expect(store.confirm(token)).toEqual({ ok: false, reason: 'expired' });
    expect(store.purgeExpired()).toBe(1);
    expect(store.get(r.id)).toBeUndefined();
    // A new request after the window starts over.
    expect(store.request('umyeonsan', 'typo@example.kr').sendConfirmation).toBe(true);
  });

  it('refuses what is not an address, quoting nothing', () => {
    for (const bad of [
      '',
      'no-at-sign',
      'a@b',
      'a b@example.kr',
      `${'x'.repeat(250)}@example.kr`,
      'x@exa_mple.kr',
      42,
    ]) {
      expect(() => store.request('umyeonsan', bad as string)).toThrow(
        expect.objectContaining({ code: 'SG_ERR_WARN_SUBSCRIPTION', message: 'not an e-mail address' }),
      );
    }
  });
});
