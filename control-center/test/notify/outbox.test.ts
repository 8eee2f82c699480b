import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backoffMs } from '../../src/notify/backoff.ts';
import { webhookChannel } from '../../src/notify/channels/webhook.ts';
import { type EnqueueInput, Outbox, type OutboxOptions } from '../../src/notify/outbox.ts';
import type { Channel } from '../../src/notify/types.ts';
import { FakeClock, MemoryAudit, openTestDb, tempDir, webhookReceiver } from './helpers.ts';

const SECRET = 'whsec-outbox-test-0123456789';
const PHONE = '+82-10-5555-0142';

function notice(over: Partial<EnqueueInput> = {}): EnqueueInput {
  return {
    alertId: 'alert-1',
    level: 3,
    channel: 'sms',
    recipient: { id: 'duty-officer', address: PHONE },
    round: 'g1.r0',
    message: { subject: '경계 Warning', text: '현장 hill-a 3 경계 / Site hill-a level 3 Warning' },
    ...over,
  };
}

describe('outbox', () => {
  const tmp = tempDir('outbox');
  let db: DatabaseSync;
  let clock: FakeClock;
  let audit: MemoryAudit;
  let outbox: Outbox | undefined;
  let closers: (() => Promise<void>)[] = [];
  let n = 0;

  beforeEach(() => {
    db = openTestDb(join(tmp.dir, `outbox-${++n}.db`));
    clock = new FakeClock();
    audit = new MemoryAudit();
  });
  afterEach(async () => {
    await outbox?.stop();
    outbox = undefined;
    for (const c of closers) await c();
    closers = [];
    db.close();
  });

  async function receiver(respond?: Parameters<typeof webhookReceiver>[0]['respond']) {
    const r = await webhookReceiver({ secret: SECRET, now: () => clock.now(), respond });
    closers.push(r.close);
    return r;
  }

  function start(url: string, over: Partial<OutboxOptions> = {}): Outbox {
    outbox = new Outbox({
      db,
      channels: [webhookChannel({ id: 'sms', url, secret: SECRET, clock })],
      clock,
      audit,
      retry: { maxAttempts: 4, baseMs: 1_000, capMs: 3_000, jitter: 0 },
      ...over,
    });
    outbox.start();
    return outbox;
  }

  it('delivers a notice once, records it as sent and audits it without the address', async () => {
    const rx = await receiver();
    const ob = start(rx.url);
    const { deliveryId, created } = ob.enqueue(notice());
    expect(created).toBe(true);
    await ob.whenIdle();
    expect(rx.requests.map((r) => r.delivery)).toEqual([deliveryId]);
    expect(rx.requests[0]?.json).toMatchObject({ alert: 'alert-1', level: 3, to: PHONE, round: 'g1.r0' });
    expect(ob.get(deliveryId)).toMatchObject({
      state: 'sent',
      attempts: 1,
      lastError: null,
      sentAt: clock.now(),
    });
    expect(audit.entries).toEqual([
      {
        actor: 'system:notify',
        action: 'notification.sent',
        target: 'alert:alert-1',
        details: expect.objectContaining({ delivery: deliveryId, channel: 'sms', recipient: 'duty-officer' }),
      },
    ]);
    expect(JSON.stringify(audit.entries)).not.toContain(PHONE);
  });

  it('de-duplicates by (alert, level, channel, recipient, round)', async () => {
    const rx = await receiver();
    const ob = start(rx.url);
    const first = ob.enqueue(notice());
    expect(ob.enqueue(notice())).toEqual({ deliveryId: first.deliveryId, created: false });
    // Each part of the key makes a new delivery.
    const others = [
      notice({ level: 4 }),
      notice({ alertId: 'alert-2' }),
      notice({ round: 'g1.r1' }),
      notice({ recipient: { id: 'duty-officer', address: '+82-10-5555-0199' } }),
    ].map((x) => ob.enqueue(x));
    expect(others.every((o) => o.created)).toBe(true);
    await ob.whenIdle();
    ob.enqueue(notice());
    await ob.whenIdle();
    expect(rx.requests).toHaveLength(5);
    expect(rx.duplicates).toBe(0);
    expect(ob.stats()).toEqual({ queued: 0, sent: 5, failed: 0, inflight: 0 });
  });

  it('retries with capped exponential backoff, then delivers', async () => {
    const rx = await receiver((n) => ({ status: n <= 3 ? 503 : 200 }));
    const ob = start(rx.url);
    const t0 = clock.now();
    const { deliveryId } = ob.enqueue(notice());
    await ob.whenIdle();
    expect(ob.get(deliveryId)).toMatchObject({ state: 'queued', attempts: 1, lastError: 'HTTP 503' });
    expect(ob.get(deliveryId)?.nextAttemptAt).toBe(t0 + 1_000);
    clock.advance(999);
    await ob.whenIdle();
    expect(rx.requests).toHaveLength(1);
    clock.advance(1);
    await ob.whenIdle();
    expect(rx.requests).toHaveLength(2);
    expect(ob.get(deliveryId)?.nextAttemptAt).toBe(t0 + 1_000 + 2_000);
    clock.advance(2_000);
    await ob.whenIdle();
    // The third wait would be 4 s; the cap is 3 s.
    expect(ob.get(deliveryId)?.nextAttemptAt).toBe(t0 + 3_000 + 3_000);
    clock.advance(3_000);
    await ob.whenIdle();
    expect(ob.get(deliveryId)).toMatchObject({ state: 'sent', attempts: 4, lastError: null });
    // Every attempt carried the same idempotency key; the receiver acted on it once.
    expect(new Set(rx.requests.map((r) => r.delivery))).toEqual(new Set([deliveryId]));
    expect(rx.accepted.size).toBe(1);
  });

  it('gives up after the last attempt and audits the failure', async () => {
    const rx = await receiver(() => ({ status: 500 }));
    const ob = start(rx.url);
    const { deliveryId } = ob.enqueue(notice());
    for (let i = 0; i < 4; i++) {
      await ob.whenIdle();
      clock.advance(3_000);
    }
    await ob.whenIdle();
    expect(rx.requests).toHaveLength(4);
    expect(ob.get(deliveryId)).toMatchObject({ state: 'failed', attempts: 4, lastError: 'HTTP 500' });
    expect(audit.entries.map((e) => e.action)).toEqual(['notification.failed']);
  });

  it('does not retry a permanent refusal (HTTP 4xx)', async () => {
    const rx = await receiver(() => ({ status: 422 }));
    const ob = start(rx.url);
    const { deliveryId } = ob.enqueue(notice());
    await ob.whenIdle();
    clock.advance(60_000);
    await ob.whenIdle();
    expect(rx.requests).toHaveLength(1);
    expect(ob.get(deliveryId)).toMatchObject({ state: 'failed', attempts: 1, lastError: 'HTTP 422' });
  });

  it('waits as long as Retry-After asks (up to the cap)', async () => {
    const rx = await receiver((n) =>
      n === 1 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    const ob = start(rx.url);
    const t0 = clock.now();
    const { deliveryId } = ob.enqueue(notice());
    await ob.whenIdle();
    expect(ob.get(deliveryId)?.nextAttemptAt).toBe(t0 + 2_000);
    clock.advance(2_000);
    await ob.whenIdle();
    expect(ob.get(deliveryId)?.state).toBe('sent');
  });

  it('counts an attempt that does not answer as a transient failure', async () => {
    const hang: Channel = { id: 'sms', kind: 'test', secrets: () => [], send: () => new Promise(() => {}) };
    outbox = new Outbox({ db, channels: [hang], clock, audit, sendTimeoutMs: 5_000, retry: { jitter: 0 } });
    outbox.start();
    const { deliveryId } = outbox.enqueue(notice());
    await new Promise((r) => setImmediate(r));
    expect(outbox.stats().inflight).toBe(1);
    clock.advance(5_000);
    await outbox.whenIdle();
    expect(outbox.get(deliveryId)).toMatchObject({
      state: 'queued',
      attempts: 1,
      lastError: 'no answer within 5000 ms',
    });
  });

  it('never logs or stores a secret or an address, even when the channel quotes them', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'trace' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    const leaky: Channel = {
      id: 'sms',
      kind: 'test',
      secrets: () => ['hunter2-smtp-password'],
      send: async (_m, r) => ({
        ok: false,
        permanent: false,
        error: `550 <${r.address}> refused; auth hunter2-smtp-password`,
      }),
    };
    outbox = new Outbox({ db, channels: [leaky], clock, audit, log, retry: { maxAttempts: 2, jitter: 0 } });
    outbox.start();
    const { deliveryId } = outbox.enqueue(notice());
    await outbox.whenIdle();
    clock.advance(10_000);
    await outbox.whenIdle();
    const record = outbox.get(deliveryId);
    expect(record?.state).toBe('failed');
    expect(record?.lastError).toBe('550 <[redacted]> refused; auth [redacted]');
    const all = [...lines, JSON.stringify(audit.entries), JSON.stringify(record)].join('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(all).not.toContain(PHONE);
    expect(all).not.toContain('hunter2');
  });

  it('logs the first failure of a run per channel, not every one', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    let down = true;
    const rx = await receiver(() => ({ status: down ? 503 : 200 }));
    const ob = start(rx.url, { log });
    for (let i = 0; i < 20; i++) ob.enqueue(notice({ alertId: `a${i}` }));
    await ob.whenIdle();
    expect(rx.requests).toHaveLength(20);
    expect(lines.filter((l) => l.includes('will retry'))).toHaveLength(1);
    down = false;
    clock.advance(1_000);
    await ob.whenIdle();
    expect(ob.stats().sent).toBe(20);
    expect(lines.filter((l) => l.includes('delivers again'))).toHaveLength(1);
    expect(lines.join('')).toContain('"failuresNotLogged":19');
  });

  it('keeps delivering when the audit sink throws or rejects', async () => {
    const rx = await receiver();
    let calls = 0;
    const ob = start(rx.url, {
      audit: {
        record: () => {
          calls++;
          if (calls === 1) throw new Error('audit disk full');
          return Promise.reject(new Error('audit unavailable'));
        },
      },
    });
    ob.enqueue(notice({ alertId: 'a1' }));
    ob.enqueue(notice({ alertId: 'a2' }));
    await ob.whenIdle();
    expect(calls).toBe(2);
    expect(ob.stats()).toMatchObject({ sent: 2, queued: 0 });
  });

  it("sends nothing that the caller's transaction rolled back", async () => {
    const rx = await receiver();
    const ob = start(rx.url);
    db.exec('BEGIN');
    ob.enqueue(notice({ alertId: 'rolled-back' }));
    db.exec('ROLLBACK');
    db.exec('BEGIN');
    ob.enqueue(notice({ alertId: 'committed' }));
    db.exec('COMMIT');
    await ob.whenIdle();
    expect(rx.requests.map((r) => r.json.alert)).toEqual(['committed']);
  });

  it('pauses, logs once and loses nothing while the database refuses writes', async () => {
    const lines: string[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    const rx = await receiver();
    const ob = start(rx.url, { log });
    ob.enqueue(notice({ alertId: 'a1' }));
    ob.enqueue(notice({ alertId: 'a2' }));
    // A real refusal by SQLite (as on a full or failing disk): reads work, writes fail.
    db.exec('PRAGMA query_only = ON');
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(rx.requests).toHaveLength(0);
    expect(lines.filter((l) => l.includes('outbox database error'))).toHaveLength(1);
    // Paused, not spinning: the only timer is the pause.
    expect(clock.pending()).toEqual([clock.now() + 1_000]);
    // Still failing a second later: tried again, not logged again.
    clock.advance(1_000);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(lines.filter((l) => l.includes('outbox database error'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('database works again'))).toHaveLength(0);
    db.exec('PRAGMA query_only = OFF');
    clock.advance(1_000);
    await ob.whenIdle();
    expect(rx.requests.map((r) => r.json.alert).sort()).toEqual(['a1', 'a2']);
    expect(ob.stats()).toMatchObject({ sent: 2, queued: 0 });
    expect(lines.filter((l) => l.includes('database works again'))).toHaveLength(1);
  });

  it('prunes old sent and failed deliveries, never queued ones', async () => {
    const rx = await receiver((_n, hook) => ({
      status: hook.json.alert === 'refused' ? 400 : hook.json.alert === 'later' ? 503 : 200,
    }));
    const ob = start(rx.url);
    ob.enqueue(notice({ alertId: 'sent' }));
    ob.enqueue(notice({ alertId: 'refused' }));
    ob.enqueue(notice({ alertId: 'later' }));
    await ob.whenIdle();
    expect(ob.stats()).toMatchObject({ sent: 1, failed: 1, queued: 1 });
    clock.advance(500);
    expect(ob.prune(clock.now() - 1_000)).toBe(0);
    expect(ob.prune(clock.now())).toBe(2);
    expect(ob.stats()).toMatchObject({ sent: 0, failed: 0, queued: 1 });
  });

  it('refuses an unknown channel and an oversized message with coded errors', () => {
    outbox = new Outbox({ db, channels: [], clock, audit });
    expect(() => outbox?.enqueue(notice())).toThrow(
      expect.objectContaining({ code: 'SG_ERR_NOTIFY_CHANNEL' }),
    );
    const big = new Outbox({
      db,
      channels: [{ id: 'sms', kind: 'test', secrets: () => [], send: async () => ({ ok: true }) }],
      clock,
      audit,
    });
    expect(() => big.enqueue(notice({ message: { subject: 'x', text: 'y'.repeat(9_000) } }))).toThrow(
      expect.objectContaining({ code: 'SG_ERR_NOTIFY_MESSAGE' }),
    );
  });

  it('resumes queued deliveries after a restart and never resends a sent one', async () => {
    let up = false;
    const rx = await receiver(() => ({ status: up ? 200 : 503 }));
    const ob = start(rx.url);
    const sent = ob.enqueue(notice({ alertId: 'before' }));
    await ob.whenIdle();
    expect(ob.get(sent.deliveryId)?.state).toBe('queued');
    up = true;
    clock.advance(1_000);
    await ob.whenIdle();
    expect(ob.get(sent.deliveryId)?.state).toBe('sent');
    up = false;
    const waiting = ob.enqueue(notice({ alertId: 'pending' }));
    await ob.whenIdle();
    await ob.stop();
    up = true;
    const before = rx.requests.length;
    const again = start(rx.url);
    clock.advance(1_000);
    await again.whenIdle();
    expect(again.get(waiting.deliveryId)?.state).toBe('sent');
    expect(rx.requests.slice(before).map((r) => r.delivery)).toEqual([waiting.deliveryId]);
  });
});

describe('backoff', () => {
  it('doubles from the base, stops at the cap, and jitter only shortens', () => {
    const p = { maxAttempts: 10, baseMs: 1_000, capMs: 5_000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 50].map((a) => backoffMs(p, a))).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000, 5_000,
    ]);
    const j = { ...p, jitter: 0.5 };
    expect(backoffMs(j, 2, () => 0)).toBe(2_000);
    expect(backoffMs(j, 2, () => 0.999)).toBe(1_001);
  });
});
