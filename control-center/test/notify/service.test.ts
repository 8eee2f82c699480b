import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseNotifyConfig } from '../../src/notify/config.ts';
import type { AlertUpdate } from '../../src/notify/message.ts';
import { createNotifier } from '../../src/notify/service.ts';
import { FakeClock, MemoryAudit, openTestDb, tempDir, webhookReceiver } from './helpers.ts';
import { startSmtpServer } from './smtp-server.ts';

/**
 * From a `notify:` section to deliveries: the configured webhook and e-mail channels, the default
 * chain, an alert source; the real HTTP receiver and aiosmtpd get each notice once, and a level-4
 * alert acknowledged after tier 2 is told stops there.
 */
describe('notifier assembled from configuration', () => {
  const tmp = tempDir('service');
  afterAll(() => tmp.cleanup());

  it('escalates an alert over webhook and e-mail and stops on acknowledgement', async () => {
    const clock = new FakeClock();
    const secret = 'service-secret-0123456789';
    const rx = await webhookReceiver({ secret, now: () => clock.now() });
    const smtp = await startSmtpServer(tmp.dir);
    const section = parse(`
channels:
  sms: { kind: webhook, url: "${rx.url}", secret_env: SG_TEST_SMS_SECRET }
  mail: { kind: email, host: 127.0.0.1, port: ${smtp.port}, require_tls: false, from: "Slopeguard <alerts@city.example.kr>" }
escalation:
  default_chain: officials
  chains:
    officials:
      min_level: 3
      repeat_minutes: 30
      tiers:
        - contacts:
            - { id: duty-sms, channel: sms, address: "+82-10-5555-0100" }
            - { id: duty-mail, channel: mail, address: duty@city.example.kr }
        - after_minutes: 10
          contacts: [{ id: chief-mail, channel: mail, address: chief@city.example.kr }]
        - after_minutes: 20
          contacts: [{ id: mayor-sms, channel: sms, address: "+82-10-5555-0199" }]
`);
    const cfg = parseNotifyConfig(section, { SG_TEST_SMS_SECRET: secret });
    if (!cfg.ok) throw new Error(cfg.errors.join('\n'));
    const db = openTestDb(join(tmp.dir, 'ops.db'));
    const audit = new MemoryAudit();
    const listeners = new Set<(u: AlertUpdate) => void>();
    const emit = (u: AlertUpdate) => {
      for (const l of listeners) l(u);
    };
    const notifier = createNotifier({ db, config: cfg.value, audit, clock });
    notifier.start({
      subscribe: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    });
    try {
      const base = {
        alertId: 'alert-9',
        site: 'hill-a',
        state: 'active' as const,
        reasons: ['rain 62 mm/h'],
      };
      emit({ ...base, level: 2, acknowledged: false, at: clock.now() });
      await notifier.outbox.whenIdle();
      expect(rx.accepted.size + smtp.messages().length).toBe(0);
      emit({ ...base, level: 4, acknowledged: false, at: clock.now() });
      await notifier.outbox.whenIdle();
      expect([...rx.accepted.values()].map((h) => h.json.to)).toEqual(['+82-10-5555-0100']);
      expect(smtp.messages().map((m) => m.to)).toEqual(['duty@city.example.kr']);
      clock.advance(10 * 60_000);
      await notifier.outbox.whenIdle();
      const mails = smtp.messages();
      expect(mails.map((m) => m.to).sort()).toEqual(['chief@city.example.kr', 'duty@city.example.kr']);
      expect(mails.every((m) => m.subject === '[Slopeguard] 4 심각 Serious · hill-a')).toBe(true);
      expect(
        mails.every((m) => m.body.startsWith('[급경사지 경보] hill-a\n단계: 4 심각\n사유: rain 62 mm/h')),
      ).toBe(true);
      emit({ ...base, level: 4, acknowledged: true, at: clock.now() });
      clock.advance(3 * 60 * 60_000);
      await notifier.outbox.whenIdle();
      expect(rx.accepted.size).toBe(1);
      expect(smtp.messages()).toHaveLength(2);
      expect(audit.entries.map((e) => `${e.action} ${e.details.recipient}`).sort()).toEqual([
        'notification.sent chief-mail',
        'notification.sent duty-mail',
        'notification.sent duty-sms',
      ]);
    } finally {
      await notifier.close();
      expect(listeners.size).toBe(0);
      db.close();
      await rx.close();
      await smtp.stop();
    }
  });
});
