import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, webhookReceiver } from './helpers.ts';

const NODE = resolve(import.meta.dirname, '../../../node_modules/.bin/node');
const CHILD = join(import.meta.dirname, 'fixtures/outbox-child.ts');
const SECRET = 'whsec-kill-test-0123456789';
const COUNT = 120;

/**
 * kill -9 of the process that owns the outbox, twice, each time while the receiver holds a request
 * it has already accepted (the window between "the receiver got it" and "recorded as sent"). The
 * outbox alone resends that one; the receiver, de-duplicating on X-Slopeguard-Delivery, acts on
 * each delivery exactly once. Nothing recorded as sent is requested again, nothing queued is lost.
 */
describe('outbox under kill -9', () => {
  const tmp = tempDir('kill');
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGKILL');
    tmp.cleanup();
  });

  it('delivers every notice exactly once end to end across two SIGKILLs', async () => {
    const dbFile = join(tmp.dir, 'ops.db');
    let killAt = 30;
    let exited: Promise<unknown> = Promise.resolve();
    const rx = await webhookReceiver({
      secret: SECRET,
      respond: () => {
        // Accepted, not yet answered: the child dies with this request unacknowledged.
        if (rx.accepted.size + 1 === killAt && child) child.kill('SIGKILL');
        return { status: 200 };
      },
    });
    const spawnChild = () => {
      const c = spawn(
        NODE,
        [CHILD, JSON.stringify({ db: dbFile, url: rx.url, secret: SECRET, count: COUNT })],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      c.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
      });
      c.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      exited = once(c, 'exit');
      child = c;
      return { c, output: () => out, errors: () => err };
    };
    const sentIds = () => {
      if (!existsSync(dbFile)) return new Set<string>();
      const db = new DatabaseSync(dbFile, { readOnly: true });
      const ids = db.prepare("SELECT delivery_id FROM notify_outbox WHERE state = 'sent'").all() as {
        delivery_id: string;
      }[];
      db.close();
      return new Set(ids.map((r) => r.delivery_id));
    };

    /** Runs the child until it exits; returns the ids it requested that an earlier run had recorded as sent. */
    const runOnce = async (kill: number, expectKilled: boolean) => {
      const sentBefore = sentIds();
      const before = rx.requests.length;
      killAt = kill;
      const run = spawnChild();
      const [code, signal] = (await exited) as [number | null, string | null];
      if (expectKilled) expect(signal, run.errors()).toBe('SIGKILL');
      else expect(code, run.errors()).toBe(0);
      const created = (JSON.parse(run.output().split('\n')[0] ?? '{}') as { created: number }).created;
      const resent = rx.requests.slice(before).filter((r) => sentBefore.has(r.delivery));
      return { created, resent: resent.map((r) => r.delivery), output: run.output(), sent: sentIds().size };
    };

    const first = await runOnce(30, true);
    expect(first.sent).toBeGreaterThan(0);
    const second = await runOnce(70, true);
    expect(second.sent).toBeGreaterThan(first.sent);
    const last = await runOnce(Number.POSITIVE_INFINITY, false);
    expect(last.output).toContain('"queued":0');

    // Enqueued once: later starts found every notice already there.
    expect([first.created, second.created, last.created]).toEqual([COUNT, 0, 0]);
    // Nothing recorded as sent was requested again.
    expect([...second.resent, ...last.resent]).toEqual([]);
    child = undefined;
    await rx.close();
    // The receiver acted on every notice once ...
    expect(rx.accepted.size).toBe(COUNT);
    expect(new Set([...rx.accepted.values()].map((h) => h.json.alert))).toEqual(
      new Set(Array.from({ length: COUNT }, (_, i) => `alert-${i}`)),
    );
    // ... although the two requests held at the kills reached it twice.
    expect(rx.duplicates).toBeGreaterThanOrEqual(2);
    expect(rx.requests.length).toBe(COUNT + rx.duplicates);
    expect(sentIds().size).toBe(COUNT);
  }, 60_000);
});
