import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailChannel } from '../../src/notify/channels/email.ts';
import { Outbox } from '../../src/notify/outbox.ts';
import type { Channel } from '../../src/notify/types.ts';
import { FakeClock, MemoryAudit, openTestDb, tempDir } from './helpers.ts';
import { type SmtpServer, startSmtpServer } from './smtp-server.ts';

const SUBJECT = '[Slopeguard] 3 경계 Warning · 뒷산 hill-a';
const TEXT = '급경사지 경보: 뒷산 hill-a 3 경계\nSlope alert: hill-a level 3 Warning';
const OFFICIALS = ['duty@city.example.kr', 'chief@city.example.kr', 'geo@province.example.kr'];

describe('e-mail channel against aiosmtpd', () => {
  const tmp = tempDir('email');
  let smtp: SmtpServer;
  let db: DatabaseSync;
  let mail: Channel;
  const clock = new FakeClock();
  const audit = new MemoryAudit();
  let outbox: Outbox;

  beforeAll(async () => {
    smtp = await startSmtpServer(tmp.dir, 4_000);
    db = openTestDb(join(tmp.dir, 'ops.db'));
    mail = emailChannel({
      id: 'mail',
      host: '127.0.0.1',
      port: smtp.port,
      secure: false,
      requireTls: false,
      from: 'Slopeguard <alerts@city.example.kr>',
      timeoutMs: 5_000,
    });
    outbox = new Outbox({ db, channels: [mail], clock, audit, retry: { baseMs: 1_000, jitter: 0 } });
    outbox.start();
  });
  afterAll(async () => {
    await outbox.stop();
    await mail.close?.();
    await smtp.stop();
    db.close();
    tmp.cleanup();
  });

  it('delivers each message once, with the subject, body and delivery id intact', async () => {
    const ids = OFFICIALS.map(
      (address, i) =>
        outbox.enqueue({
          alertId: 'alert-mail',
          level: 3,
          channel: 'mail',
          recipient: { id: `official-${i}`, address },
          round: 'g1.r0',
          message: { subject: SUBJECT, text: TEXT },
        }).deliveryId,
    );
    // The same notices again (a restart of the escalation): nothing new.
    for (const address of OFFICIALS) {
      const again = outbox.enqueue({
        alertId: 'alert-mail',
        level: 3,
        channel: 'mail',
        recipient: { id: 'x', address },
        round: 'g1.r0',
        message: { subject: SUBJECT, text: TEXT },
      });
      expect(again.created).toBe(false);
    }
    await outbox.whenIdle();
    const got = smtp.messages();
    expect(got).toHaveLength(3);
    expect(got.map((m) => m.to).sort()).toEqual([...OFFICIALS].sort());
    for (const m of got) {
      expect(m.subject).toBe(SUBJECT);
      expect(m.body.trim()).toBe(TEXT);
      expect(m.from).toBe('Slopeguard <alerts@city.example.kr>');
      expect(ids).toContain(m.delivery);
      expect(m.messageId).toBe(`<${m.delivery}@city.example.kr>`);
    }
    expect(ids.map((id) => outbox.get(id)?.state)).toEqual(['sent', 'sent', 'sent']);
    expect(JSON.stringify(audit.entries)).not.toContain('@city.example.kr');
  });

  it('retries while the SMTP server is down and delivers once it is back', async () => {
    await smtp.stop();
    const { deliveryId } = outbox.enqueue({
      alertId: 'alert-down',
      level: 4,
      channel: 'mail',
      recipient: { id: 'duty', address: OFFICIALS[0] ?? '' },
      message: { subject: '[Slopeguard] 4 심각 Serious', text: '심각 / Serious' },
    });
    await outbox.whenIdle();
    const record = outbox.get(deliveryId);
    expect(record).toMatchObject({ state: 'queued', attempts: 1 });
    expect(record?.lastError).toMatch(/^SMTP (ECONNECTION|ESOCKET)/);
    await smtp.start();
    clock.advance(1_000);
    await outbox.whenIdle();
    expect(outbox.get(deliveryId)).toMatchObject({ state: 'sent', attempts: 2 });
    expect(smtp.messages().filter((m) => m.delivery === deliveryId)).toHaveLength(1);
  });

  it('does not retry a message the server refuses with 5xx, and stores no address in the error', async () => {
    const { deliveryId } = outbox.enqueue({
      alertId: 'alert-big',
      level: 2,
      channel: 'mail',
      recipient: { id: 'duty', address: OFFICIALS[0] ?? '' },
      message: { subject: 'too big', text: 'x'.repeat(6_000) },
    });
    await outbox.whenIdle();
    clock.advance(60_000);
    await outbox.whenIdle();
    const record = outbox.get(deliveryId);
    expect(record).toMatchObject({ state: 'failed', attempts: 1 });
    expect(record?.lastError).toMatch(/^SMTP 552/);
    expect(record?.lastError).not.toContain(OFFICIALS[0]);
    expect(smtp.messages().filter((m) => m.delivery === deliveryId)).toHaveLength(0);
  });
});
