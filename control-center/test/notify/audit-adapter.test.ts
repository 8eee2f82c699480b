import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sqliteAuditLog, verifyAudit } from '../../src/audit/audit-log.ts';
import { openOperationalDb } from '../../src/db/open.ts';
import { auditSinkFor } from '../../src/notify/audit-adapter.ts';
import { Outbox } from '../../src/notify/outbox.ts';
import type { Channel } from '../../src/notify/types.ts';
import { FakeClock, openTestDb, tempDir } from './helpers.ts';

/** Deliveries land in the control center's own hash-chained audit log, without addresses. */
describe('notify audit on the control center audit log', () => {
  const tmp = tempDir('audit');
  afterAll(() => tmp.cleanup());

  it('records sent and failed deliveries with their outcome, and the chain verifies', async () => {
    const ops = openOperationalDb(join(tmp.dir, 'ops.db'));
    const log = sqliteAuditLog(ops);
    const db = openTestDb(join(tmp.dir, 'outbox.db'));
    const clock = new FakeClock();
    const channel: Channel = {
      id: 'sms',
      kind: 'test',
      secrets: () => [],
      send: async (m) =>
        m.alertId === 'bad' ? { ok: false, permanent: true, error: 'HTTP 400' } : { ok: true },
    };
    const outbox = new Outbox({ db, channels: [channel], clock, audit: auditSinkFor(log) });
    outbox.start();
    for (const alertId of ['good', 'bad']) {
      outbox.enqueue({
        alertId,
        level: 3,
        channel: 'sms',
        recipient: { id: 'duty-officer', address: '+82-10-5555-0100' },
        message: { subject: 's', text: 't' },
      });
    }
    await outbox.whenIdle();
    await outbox.stop();
    const records = [...log.iterate()];
    expect(records.map((r) => `${r.action} ${r.target} ${r.outcome} ${r.actor}`).sort()).toEqual([
      'notification.failed alert:bad failed system:notify',
      'notification.sent alert:good ok system:notify',
    ]);
    expect(records.every((r) => r.detail.recipient === 'duty-officer')).toBe(true);
    expect(JSON.stringify(records)).not.toContain('5555');
    expect(verifyAudit(records).problems).toEqual([]);
    db.close();
    ops.close();
  });
});
