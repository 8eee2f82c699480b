import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Clock, ClockTimer } from '../../src/notify/clock.ts';
import { NOTIFY_MIGRATIONS } from '../../src/notify/migrations.ts';
import type { AuditEntry, AuditSink } from '../../src/notify/types.ts';
import { verifyWebhook } from '../../src/notify/webhook-signature.ts';

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `sg-notify-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A real SQLite file with the notify migrations applied the way a runner would (each in a
 * transaction, in version order). The control center's own runner replaces this when wired.
 */
export function openTestDb(file: string): DatabaseSync {
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS test_migrations (version INTEGER PRIMARY KEY)');
  const done = new Set(
    (db.prepare('SELECT version FROM test_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  for (const m of [...NOTIFY_MIGRATIONS].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    db.exec('BEGIN');
    m.up(db);
    db.prepare('INSERT INTO test_migrations (version) VALUES (?)').run(m.version);
    db.exec('COMMIT');
  }
  return db;
}

/** A clock that moves only when the test says so; due timers run in time order. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  constructor(start = Date.UTC(2026, 10, 29, 7, 0, 0)) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): ClockTimer {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return { id };
  }
  clearTimeout(timer: ClockTimer): void {
    this.#timers.delete((timer as { id: number }).id);
  }
  /** Moves time forward, running each timer that falls due at its own time. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.#timers) if (e[1].at <= target && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
    }
    this.#now = target;
  }
  /** Times of the pending timers, earliest first. */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at).sort((a, b) => a - b);
  }
}

export class MemoryAudit implements AuditSink {
  readonly entries: AuditEntry[] = [];
  record(entry: AuditEntry): void {
    this.entries.push(entry);
  }
}

export interface ReceivedHook {
  delivery: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown>;
}

/**
 * A webhook receiver as an SMS gateway would run one: it verifies each request with
 * `verifyWebhook` (401 when it fails) and de-duplicates on the delivery id (a repeat is answered 200
 * and not acted on again). `respond` picks the status of each verified request, by arrival number.
 */
export async function webhookReceiver(opts: {
  secret: string;
  now?: () => number;
  toleranceMs?: number;
  respond?: (n: number, hook: ReceivedHook) => { status: number; headers?: Record<string, string> };
}) {
  const requests: ReceivedHook[] = [];
  const accepted = new Map<string, ReceivedHook>();
  const refused: { reason: string }[] = [];
  let duplicates = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const v = verifyWebhook(
        req.headers,
        body,
        opts.secret,
        (opts.now ?? Date.now)(),
        opts.toleranceMs ?? 300_000,
      );
      if (!v.ok) {
        refused.push({ reason: v.reason });
        res.writeHead(401).end();
        return;
      }
      const hook: ReceivedHook = {
        delivery: v.deliveryId,
        headers: req.headers,
        body,
        json: JSON.parse(body) as Record<string, unknown>,
      };
      requests.push(hook);
      const answer = opts.respond?.(requests.length, hook) ?? { status: 200 };
      if (answer.status >= 200 && answer.status < 300) {
        if (accepted.has(v.deliveryId)) duplicates++;
        else accepted.set(v.deliveryId, hook);
      }
      res.writeHead(answer.status, answer.headers).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/sms`,
    requests,
    accepted,
    refused,
    get duplicates() {
      return duplicates;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Polls with real time for something a real server does (not for timing assertions). */
export async function waitFor<T>(what: string, probe: () => T, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
