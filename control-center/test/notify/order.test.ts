import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { webhookChannel } from '../../src/notify/channels/webhook.ts';
import { type EnqueueInput, Outbox } from '../../src/notify/outbox.ts';
import { FakeClock, MemoryAudit, openTestDb, tempDir, webhookReceiver } from './helpers.ts';

const SECRET = 'whsec-order-test-0123456789';

function notice(level: number, address: string, alertId = 'alert-1', round = 'g1.r0'): EnqueueInput {
  return {
    alertId,
    level: level as EnqueueInput['level'],
    channel: 'sms',
    recipient: { id: `contact-${address}`, address },
    round,
    message: { subject: `level ${level}`, text: `level ${level}` },
  };
}

/**
 * A receiver sees one alert's notices in the order they were made, even when an earlier one has to
 * be retried: found end to end by cli/test/warn-kill.test.ts, where the SMS gateway got "warning"
 * before "caution" when both were due at once after a restart (the outbox sends 8 at a time).
 * Other recipients and other alerts are not held up.
 */
describe('outbox order per alert and recipient', () => {
  const tmp = tempDir('order');
  afterAll(() => tmp.cleanup());

  it('holds a later notice until the earlier one to the same recipient is sent', async () => {
    const clock = new FakeClock();
    let refuseFirst = true;
    const rx = await webhookReceiver({
      secret: SECRET,
      now: () => clock.now(),
      respond: (_n, hook) => {
        // The first attempt at the first notice fails transiently; it is retried 1 s later.
        if (refuseFirst && hook.json.level === 2 && hook.json.to === 'A') {
          refuseFirst = false;
          return { status: 503 };
        }
        return { status: 200 };
      },
    });
    const db = openTestDb(join(tmp.dir, 'order.db'));
    const outbox = new Outbox({
      db,
      channels: [webhookChannel({ id: 'sms', url: rx.url, secret: SECRET, clock })],
      clock,
      audit: new MemoryAudit(),
      retry: { maxAttempts: 4, baseMs: 1_000, capMs: 3_000, jitter: 0 },
    });
    outbox.start();
    try {
      outbox.enqueue(notice(2, 'A'));
      outbox.enqueue(notice(3, 'A'));
      outbox.enqueue(notice(2, 'A', 'alert-1', 'g1.r1'));
      outbox.enqueue(notice(3, 'B'));
      outbox.enqueue(notice(4, 'A', 'alert-2'));
      await outbox.whenIdle();
      // Only the retry is left: nothing for A about alert-1 went out after the refused one.
      const seen = () => rx.requests.map((r) => `${r.json.alert} ${r.json.to} ${r.json.level}`);
      expect(seen().filter((s) => s.startsWith('alert-1 A'))).toEqual(['alert-1 A 2']);
      expect(seen()).toEqual(expect.arrayContaining(['alert-1 B 3', 'alert-2 A 4']));
      clock.advance(1_000);
      await outbox.whenIdle();
      expect(
        [...rx.accepted.values()]
          .filter((h) => h.json.alert === 'alert-1' && h.json.to === 'A')
          .map((h) => h.json.level),
      ).toEqual([2, 3, 2]);
      expect(outbox.stats()).toMatchObject({ queued: 0, sent: 5, failed: 0 });
    } finally {
      await outbox.stop();
      db.close();
      await rx.close();
    }
  });
});
