import { createHash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import { type AuditAction, isAuditAction } from './actions.ts';

/**
 * The audit trail: one append-only record per state-changing action (who, when, from where, what,
 * and whether it was allowed). Each record's hash is SHA-256 over the previous record's hash and
 * this record's fields, so editing a record breaks its own hash and deleting one breaks the chain
 * (and leaves a gap in `seq`). The table refuses UPDATE and DELETE by trigger; `verify` catches
 * whoever goes around that with the file itself.
 */
export interface AuditInput {
  actor: string;
  address: string;
  action: AuditAction;
  target: string;
  outcome: 'ok' | 'refused' | 'failed';
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Required<AuditInput> {
  seq: number;
  ts: number;
  prev: string;
  hash: string;
}

export interface AuditProblem {
  seq: number;
  problem: 'edited' | 'missing_before' | 'chain_broken';
}

/**
 * What an admin asks of the trail. Without `after` the answer is newest first, starting below
 * `before` (a seq cursor); with `after` it runs forward from that seq (a reader following the
 * trail). `action` is an action or a family (`user`); actor, target and outcome match exactly;
 * `from`/`to` are inclusive epoch ms.
 */
export interface AuditQuery {
  actor?: string;
  action?: string;
  target?: string;
  outcome?: AuditInput['outcome'];
  from?: number;
  to?: number;
  before?: number;
  after?: number;
  limit?: number;
}

export const AUDIT_PAGE_MAX = 10_000;

export interface AuditLog {
  append(input: AuditInput): AuditRecord;
  /** At most AUDIT_PAGE_MAX records matching `q` (1,000 by default). */
  query(q?: AuditQuery): AuditRecord[];
  /** The stored hash of record `seq`, undefined when there is none (for checking a page's links). */
  hashOf(seq: number): string | undefined;
  iterate(): Iterable<AuditRecord>;
}

const GENESIS = '0'.repeat(64);

export function recordHash(r: Omit<AuditRecord, 'hash'>): string {
  // A fixed field order: the hash must not depend on how an object happened to be built.
  const canonical = JSON.stringify([
    r.seq,
    r.ts,
    r.actor,
    r.address,
    r.action,
    r.target,
    r.outcome,
    r.detail,
    r.prev,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

type Row = Omit<AuditRecord, 'detail' | 'action'> & { action: string; detail: string };
// A stored action outside today's list (a record an older or newer program wrote) is read as it is:
// the trail is evidence and is never rewritten on the way out.
const fromRow = (r: Row): AuditRecord => ({
  ...r,
  action: r.action as AuditAction,
  detail: JSON.parse(r.detail) as Record<string, unknown>,
});

const MAX_FIELD = 200;
const clip = (s: string) => (s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}…` : s);

export function sqliteAuditLog(db: DatabaseSync, now: () => number = Date.now): AuditLog {
  const last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
  const hashBySeq = db.prepare('SELECT hash FROM audit WHERE seq = ?');
  const insert = db.prepare(
    'INSERT INTO audit (seq, ts, actor, address, action, target, outcome, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  return {
    append(input) {
      // node:sqlite is synchronous: nothing else runs between reading the head and inserting.
      const head = last.get() as { seq: number; hash: string } | undefined;
      const base = {
        seq: (head?.seq ?? 0) + 1,
        ts: now(),
        actor: clip(input.actor),
        address: clip(input.address),
        action: input.action,
        target: clip(input.target),
        outcome: input.outcome,
        detail: input.detail ?? {},
        prev: head?.hash ?? GENESIS,
      };
      const rec: AuditRecord = { ...base, hash: recordHash(base) };
      insert.run(
        rec.seq,
        rec.ts,
        rec.actor,
        rec.address,
        rec.action,
        rec.target,
        rec.outcome,
        JSON.stringify(rec.detail),
        rec.prev,
        rec.hash,
      );
      return rec;
    },
    query(q = {}) {
      const where: string[] = [];
      const args: Array<string | number> = [];
      const add = (sql: string, ...v: Array<string | number>) => {
        where.push(sql);
        args.push(...v);
      };
      if (q.actor !== undefined) add('actor = ?', q.actor);
      if (q.target !== undefined) add('target = ?', q.target);
      if (q.outcome !== undefined) add('outcome = ?', q.outcome);
      if (q.action !== undefined)
        if (isAuditAction(q.action)) add('action = ?', q.action);
        // A family: the actions that start with it and a dot (no LIKE, so no wildcard to escape).
        else add('substr(action, 1, ?) = ?', q.action.length + 1, `${q.action}.`);
      if (q.from !== undefined) add('ts >= ?', q.from);
      if (q.to !== undefined) add('ts <= ?', q.to);
      const forward = q.after !== undefined;
      if (forward) add('seq > ?', q.after as number);
      else if (q.before !== undefined) add('seq < ?', q.before);
      const limit = Math.max(1, Math.min(q.limit ?? 1000, AUDIT_PAGE_MAX));
      const sql = `SELECT * FROM audit${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${forward ? 'ASC' : 'DESC'} LIMIT ?`;
      return (db.prepare(sql).all(...args, limit) as Row[]).map(fromRow);
    },
    hashOf(seq) {
      return (hashBySeq.get(seq) as { hash: string } | undefined)?.hash;
    },
    *iterate() {
      for (const r of db.prepare('SELECT * FROM audit ORDER BY seq').iterate() as Iterable<Row>)
        yield fromRow(r);
    },
  };
}

/** Walks the whole chain; reports every edited record and every gap (deleted records). */
export function verifyAudit(records: Iterable<AuditRecord>): { count: number; problems: AuditProblem[] } {
  const problems: AuditProblem[] = [];
  let prevHash = GENESIS;
  let prevSeq = 0;
  let count = 0;
  for (const r of records) {
    count++;
    const { hash, ...rest } = r;
    if (recordHash(rest) !== hash) problems.push({ seq: r.seq, problem: 'edited' });
    if (r.seq !== prevSeq + 1) problems.push({ seq: r.seq, problem: 'missing_before' });
    else if (r.prev !== prevHash) problems.push({ seq: r.seq, problem: 'chain_broken' });
    prevHash = hash;
    prevSeq = r.seq;
  }
  return { count, problems };
}

/**
 * Checks the records of one answer, in any order and with gaps between them (a filtered page):
 * each record's own hash (edited), and its link to the record before it in the stored trail
 * (`missing_before` when that record is gone, `chain_broken` when its hash is not the one this
 * record carries). It says nothing about records outside the answer: the whole trail is checked
 * by `verifyAudit` (`GET /api/v1/audit/verify`, `slopeguard audit verify`).
 */
export function checkAuditRecords(
  records: readonly AuditRecord[],
  hashOf: (seq: number) => string | undefined,
): { count: number; problems: AuditProblem[] } {
  const problems: AuditProblem[] = [];
  // A predecessor in the answer itself is the row just read: no second lookup.
  const inAnswer = new Map(records.map((r) => [r.seq, r.hash]));
  for (const r of records) {
    const { hash, ...rest } = r;
    if (recordHash(rest) !== hash) problems.push({ seq: r.seq, problem: 'edited' });
    const before = r.seq === 1 ? GENESIS : (inAnswer.get(r.seq - 1) ?? hashOf(r.seq - 1));
    if (before === undefined) problems.push({ seq: r.seq, problem: 'missing_before' });
    else if (r.prev !== before) problems.push({ seq: r.seq, problem: 'chain_broken' });
  }
  return { count: records.length, problems };
}

/** Export formats for admins: NDJSON (one record a line) and CSV (RFC 4180 quoting). */
export function auditNdjsonLine(r: AuditRecord): string {
  return `${JSON.stringify(r)}\n`;
}

export const AUDIT_CSV_HEADER = 'seq,ts,time,actor,address,action,target,outcome,detail,prev,hash\n';

export function auditCsvLine(r: AuditRecord): string {
  const q = (v: string) => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  // A leading = + - @ would be a formula in a spreadsheet: neutralise it (CSV injection).
  const cell = (v: string) => q(/^[=+\-@\t\r]/.test(v) ? `'${v}` : v);
  return `${[
    String(r.seq),
    String(r.ts),
    new Date(r.ts).toISOString(),
    cell(r.actor),
    cell(r.address),
    cell(r.action),
    cell(r.target),
    r.outcome,
    cell(JSON.stringify(r.detail)),
    r.prev,
    r.hash,
  ].join(',')}\n`;
}
