import { createHash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';

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
  action: string;
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

export interface AuditLog {
  append(input: AuditInput): AuditRecord;
  list(filter?: { after?: number; limit?: number }): AuditRecord[];
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

type Row = Omit<AuditRecord, 'detail'> & { detail: string };
const fromRow = (r: Row): AuditRecord => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> });

const MAX_FIELD = 200;
const clip = (s: string) => (s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}…` : s);

export function sqliteAuditLog(db: DatabaseSync, now: () => number = Date.now): AuditLog {
  const last = db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
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
        action: clip(input.action),
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
    list(filter = {}) {
      const rows = db
        .prepare('SELECT * FROM audit WHERE seq > ? ORDER BY seq LIMIT ?')
        .all(filter.after ?? 0, Math.min(filter.limit ?? 1000, 10_000)) as Row[];
      return rows.map(fromRow);
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
