import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webhookChannel } from '../../src/notify/channels/webhook.ts';
import { Escalation, type EscalationChain, type EscalationPolicy } from '../../src/notify/escalation.ts';
import type { AlertUpdate } from '../../src/notify/message.ts';
import { Outbox } from '../../src/notify/outbox.ts';
import { FakeClock, MemoryAudit, openTestDb, tempDir, webhookReceiver } from './helpers.ts';

const SECRET = 'whsec-escalation-0123456789';
const MIN = 60_000;

const defaultChain: EscalationChain = {
  minLevel: 2,
  repeatMs: 15 * MIN,
  maxReminders: 2,
  notifyClear: true,
  tiers: [
    { afterMs: 0, contacts: [{ id: 'duty', channel: 'sms', address: 'tel:duty' }] },
    { afterMs: 10 * MIN, contacts: [{ id: 'chief', channel: 'sms', address: 'tel:chief' }] },
    { afterMs: 30 * MIN, contacts: [{ id: 'mayor', channel: 'pager', address: 'tel:mayor' }] },
  ],
};
const steepChain: EscalationChain = {
  minLevel: 3,
  repeatMs: null,
  maxReminders: 0,
  notifyClear: false,
  tiers: [{ afterMs: 0, contacts: [{ id: 'geologist', channel: 'sms', address: 'tel:geo' }] }],
};
const policy: EscalationPolicy = {
  chains: new Map([
    ['default', defaultChain],
    ['steep', steepChain],
  ]),
  defaultChain: 'default',
  sites: new Map([['hill-b', 'steep']]),
};

function alert(over: Partial<AlertUpdate> = {}): AlertUpdate {
  return {
    alertId: 'alert-1',
    site: 'hill-a',
    level: 3,
    state: 'active',
    acknowledged: false,
    reasons: ['tilt t1 0.62 deg/h (>= 0.5)'],
    at: Date.UTC(2026, 10, 29, 7, 0),
    ...over,
  };
}

describe('escalation on a fake clock', () => {
  const tmp = tempDir('escalation');
  let dbFile: string;
  let db: DatabaseSync;
  let clock: FakeClock;
  let rx: Awaited<ReturnType<typeof webhookReceiver>>;
  let outbox: Outbox;
  let esc: Escalation;
  let n = 0;

  const boot = () => {
    db = openTestDb(dbFile);
    const channels = ['sms', 'pager'].map((id) => webhookChannel({ id, url: rx.url, secret: SECRET, clock }));
    outbox = new Outbox({ db, channels, clock, audit: new MemoryAudit() });
    esc = new Escalation({ db, outbox, policy, clock });
    outbox.start();
    esc.start();
  };
  /** A crash: timers and in-memory state gone, the database file kept. */
  const crash = async () => {
    esc.stop();
    await outbox.stop();
    db.close();
  };
  const step = async (ms: number) => {
    clock.advance(ms);
    await outbox.whenIdle();
  };
  /** What the receiver acted on: "contact round level", in arrival order. */
  const got = () =>
    [...rx.accepted.values()].map((h) => `${h.json.to} ${h.json.round} L${h.json.level}`.replace('tel:', ''));

  beforeEach(async () => {
    clock = new FakeClock();
    rx = await webhookReceiver({ secret: SECRET, now: () => clock.now() });
    dbFile = join(tmp.dir, `esc-${++n}.db`);
    boot();
  });
  afterEach(async () => {
    await crash();
    await rx.close();
  });

  it('tells tier 1 at once, tier 2 and 3 after their delays, reminds, and stops on acknowledgement', async () => {
    esc.update(alert());
    await step(0);
    expect(got()).toEqual(['duty g1.r0 L3']);
    await step(10 * MIN - 1);
    expect(got()).toHaveLength(1);
    await step(1);
    expect(got()).toEqual(['duty g1.r0 L3', 'chief g1.r0 L3']);
    await step(5 * MIN);
    expect(got().slice(2)).toEqual(['duty g1.r1 L3']);
    await step(10 * MIN);
    expect(got().slice(3)).toEqual(['chief g1.r1 L3']);
    await step(5 * MIN);
    expect(got().slice(4).sort()).toEqual(['duty g1.r2 L3', 'mayor g1.r0 L3']);
    const reminder = [...rx.accepted.values()].find((h) => h.json.round === 'g1.r2');
    expect(reminder?.json.subject).toBe('[Slopeguard] 재알림 Reminder 2 · 3 경계 Warning · hill-a');
    await step(MIN);
    esc.update(alert({ acknowledged: true }));
    await step(5 * 60 * MIN);
    expect(got()).toHaveLength(6);
    // No escalation timer is left behind.
    expect(clock.pending()).toEqual([]);
    // Reminders stop at maxReminders even without acknowledgement: duty had r1 and r2, no r3.
    expect(got().filter((g) => g.startsWith('duty'))).toEqual([
      'duty g1.r0 L3',
      'duty g1.r1 L3',
      'duty g1.r2 L3',
    ]);
  });

  it('waits for the chain level, then starts at once', async () => {
    esc.update(alert({ level: 1 }));
    await step(60 * MIN);
    expect(got()).toEqual([]);
    esc.update(alert({ level: 2 }));
    await step(0);
    expect(got()).toEqual(['duty g1.r0 L2']);
  });

  it('tells the tiers already reached at once when the level rises; a fall and a rise back send nothing new', async () => {
    esc.update(alert({ level: 3 }));
    await step(11 * MIN);
    expect(got()).toEqual(['duty g1.r0 L3', 'chief g1.r0 L3']);
    esc.update(alert({ level: 4 }));
    await step(0);
    expect(got().slice(2)).toEqual(['duty g1.r0 L4', 'chief g1.r0 L4']);
    esc.update(alert({ level: 3 }));
    esc.update(alert({ level: 4 }));
    await step(0);
    expect(got()).toHaveLength(4);
  });

  it('sends the all-clear to the tiers that were told, and only once', async () => {
    esc.update(alert());
    await step(12 * MIN);
    esc.update(alert({ level: 0, state: 'cleared' }));
    esc.update(alert({ level: 0, state: 'cleared' }));
    await step(60 * MIN);
    expect(got()).toEqual(['duty g1.r0 L3', 'chief g1.r0 L3', 'duty clear L0', 'chief clear L0']);
    const clear = [...rx.accepted.values()].at(-1);
    expect(clear?.json.subject).toBe('[Slopeguard] 해제 Cleared · hill-a');
  });

  it('uses the site chain over the default chain', async () => {
    esc.update(alert({ alertId: 'alert-b', site: 'hill-b', level: 2 }));
    await step(60 * MIN);
    expect(got()).toEqual([]);
    esc.update(alert({ alertId: 'alert-b', site: 'hill-b', level: 3 }));
    await step(60 * MIN);
    expect(got()).toEqual(['geo g1.r0 L3']);
  });

  it('starts over when an acknowledged alert is unacknowledged again', async () => {
    esc.update(alert());
    await step(0);
    esc.update(alert({ acknowledged: true }));
    await step(MIN);
    esc.update(alert({ acknowledged: false }));
    await step(0);
    expect(got()).toEqual(['duty g1.r0 L3', 'duty g2.r0 L3']);
  });

  it('survives a crash: nothing sent twice, the next tier still due on the original timeline', async () => {
    esc.update(alert());
    await step(5 * MIN);
    await crash();
    boot();
    await step(0);
    expect(got()).toEqual(['duty g1.r0 L3']);
    await step(5 * MIN);
    expect(got()).toEqual(['duty g1.r0 L3', 'chief g1.r0 L3']);
    // Down for 40 minutes: on start only the latest due notice of each tier goes out.
    await crash();
    clock.advance(40 * MIN);
    boot();
    await step(0);
    expect(got().slice(2).sort()).toEqual(['chief g1.r2 L3', 'duty g1.r2 L3', 'mayor g1.r0 L3']);
  });

  it('retries a step the database refused, and loses no notice', async () => {
    esc.update(alert());
    await step(5 * MIN);
    // A real refusal by SQLite, as on a full disk, when tier 2 falls due.
    db.exec('PRAGMA query_only = ON');
    await step(5 * MIN);
    expect(got()).toEqual(['duty g1.r0 L3']);
    db.exec('PRAGMA query_only = OFF');
    await step(10_000);
    expect(got()).toEqual(['duty g1.r0 L3', 'chief g1.r0 L3']);
    // The timeline goes on: duty's first reminder at 15 minutes.
    await step(5 * MIN - 10_000);
    expect(got().slice(2)).toEqual(['duty g1.r1 L3']);
  });

  it('refuses malformed updates without throwing', async () => {
    const bad = [
      null,
      { ...alert(), level: 7 },
      { ...alert(), alertId: '' },
      { ...alert(), site: '../etc' },
      { ...alert(), state: 'open' },
      { ...alert(), acknowledged: 'no' },
      { ...alert(), reasons: 'rain' },
      { ...alert(), at: Number.NaN },
    ];
    const lines: string[] = [];
    esc = new Escalation({
      db,
      outbox,
      policy,
      clock,
      log: pino(
        { level: 'info' },
        new Writable({
          write(chunk, _enc, cb) {
            lines.push(String(chunk));
            cb();
          },
        }),
      ),
    });
    esc.start();
    for (const b of bad) expect(() => esc.update(b as unknown as AlertUpdate)).not.toThrow();
    expect(esc.rejected).toBe(bad.length);
    // Counted every time, logged once a minute.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('alert update refused: not an object');
    clock.advance(60_000);
    esc.update(bad[1] as unknown as AlertUpdate);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(`"notLogged":${bad.length - 1}`);
    await step(60 * MIN);
    expect(got()).toEqual([]);
  });

  it('feeds from an alert source', async () => {
    const listeners: ((u: AlertUpdate) => void)[] = [];
    const off = esc.attach({
      subscribe: (l) => {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      },
    });
    for (const l of listeners) l(alert({ level: 4 }));
    await step(0);
    expect(got()).toEqual(['duty g1.r0 L4']);
    off();
    expect(listeners).toHaveLength(0);
  });
});
