import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Writable } from 'node:stream';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS, type AuditAction } from '../src/audit/actions.ts';
import { AUDIT_CSV_HEADER, type AuditRecord, auditCsvLine, auditNdjsonLine } from '../src/audit/audit-log.ts';
import { type ControlCenter, startControlCenter } from '../src/index.ts';
import { type Mosquitto, startMosquitto } from './mosquitto.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * GET /api/v1/audit on a real server over a database file with several thousand records: filters
 * (actor, action or family, outcome, target, time range) applied by the server, newest first,
 * paged by seq; exports with the same filters; the chain check of what was returned; hostile query
 * input refused with a 400 code, counted and logged without flooding. The expected answers come
 * from walking the whole trail in the test, not from the server's query.
 */
const RECORDS = 4000;
const T0 = Date.UTC(2026, 10, 1, 0, 0);
const ACTORS = ['kim', 'lee', 'park', 'cli', 'system:notify'];
const ACTIONS: AuditAction[] = [
  'user.add',
  'user.disable',
  'alert.ack',
  'site.manual_level',
  'gateway.command',
];
const OUTCOMES = ['ok', 'ok', 'refused', 'failed'] as const;

type Page = {
  records: AuditRecord[];
  next: number | null;
  chain: { covers: string; count: number; problems: Array<{ seq: number; problem: string }> };
};

describe('audit API: server-side filters, newest first, paged by seq', { timeout: 120_000 }, () => {
  let dir: string;
  let broker: Mosquitto;
  let center: ControlCenter;
  let admin: SignedIn;
  let operator: SignedIn;
  let now = T0;
  const metrics = new Registry();
  const logLines: Array<Record<string, unknown>> = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logLines.push(JSON.parse(line));
      done();
    },
  });

  const all = () => [...center.audit.iterate()];
  const get = async (query: string) => {
    const res = await admin.fetch(`api/v1/audit${query ? `?${query}` : ''}`);
    return { status: res.status, body: (await res.json()) as Page & { error?: string; message?: string } };
  };
  /** Follows `next` from the newest record to the end; the records in the order they came. */
  const readAll = async (query: string) => {
    const out: AuditRecord[] = [];
    let cursor = '';
    for (let i = 0; i < 100; i++) {
      const { status, body } = await get(`${query}${cursor}`);
      expect(status).toBe(200);
      expect(body.chain.covers).toBe('returned');
      expect(body.chain.count).toBe(body.records.length);
      expect(body.chain.problems).toEqual([]);
      out.push(...body.records);
      if (body.next === null) return out;
      cursor = `&before=${body.next}`;
    }
    throw new Error('more than 100 pages');
  };
  const newestFirst = (rs: AuditRecord[]) => [...rs].sort((a, b) => b.seq - a.seq).map((r) => r.seq);
  const refused400 = async () =>
    (await metrics.getSingleMetric('slopeguard_admin_refused_total')?.get())?.values.find(
      (v) => v.labels.route === '/api/v1/audit' && v.labels.status === '400',
    )?.value ?? 0;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cc-audit-query-'));
    broker = await startMosquitto();
    center = await startControlCenter({
      http: { host: '127.0.0.1', port: 0 },
      mqtt: { url: broker.url },
      logger: pino({ level: 'warn' }, logStream),
      metrics,
      webRoot: join(dir, 'no-web'),
      db: { path: join(dir, 'cc.sqlite') },
      tickMs: 3_600_000,
      now: () => now,
    });
    admin = await signIn(center, 'admin');
    operator = await signIn(center, 'operator');
    // Several thousand records in the server's own trail, one a second, with varied fields.
    for (let i = 0; i < RECORDS; i++) {
      now = T0 + 60_000 + i * 1000;
      center.audit.append({
        actor: ACTORS[i % ACTORS.length] as string,
        address: '10.0.0.1',
        action: ACTIONS[i % ACTIONS.length] as AuditAction,
        target: `site-${i % 7}`,
        outcome: OUTCOMES[i % OUTCOMES.length] as AuditRecord['outcome'],
        detail: { i },
      });
    }
    now = T0 + 60_000 + RECORDS * 1000;
  });
  afterAll(async () => {
    await center?.close();
    await broker?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('pages the whole trail newest first by seq, each page checked', async () => {
    const first = await get('limit=500');
    expect(first.status).toBe(200);
    expect(first.body.records).toHaveLength(500);
    const total = all();
    expect(first.body.records[0]?.seq).toBe(total.at(-1)?.seq);
    expect(first.body.next).toBe(first.body.records.at(-1)?.seq);
    const pages = await readAll('limit=1000');
    expect(pages.map((r) => r.seq)).toEqual(newestFirst(total));
    // Without a limit a page holds 1,000.
    expect((await get('')).body.records).toHaveLength(1000);
  });

  it('filters on the server by actor, action, family, outcome, target and time', async () => {
    const cases: Array<[string, (r: AuditRecord) => boolean]> = [
      ['actor=lee', (r) => r.actor === 'lee'],
      ['actor=system%3Anotify', (r) => r.actor === 'system:notify'],
      ['action=user.disable', (r) => r.action === 'user.disable'],
      ['action=user', (r) => r.action.startsWith('user.')],
      ['action=session', (r) => r.action.startsWith('session.')],
      ['outcome=refused', (r) => r.outcome === 'refused'],
      ['target=site-3', (r) => r.target === 'site-3'],
      [
        `from=${new Date(T0 + 60_000 + 1000 * 1000).toISOString()}&to=${T0 + 60_000 + 1999 * 1000}`,
        (r) => r.ts >= T0 + 60_000 + 1000 * 1000 && r.ts <= T0 + 60_000 + 1999 * 1000,
      ],
      [
        'actor=kim&action=user&outcome=ok&target=site-0',
        (r) =>
          r.actor === 'kim' && r.action.startsWith('user.') && r.outcome === 'ok' && r.target === 'site-0',
      ],
    ];
    for (const [query, match] of cases) {
      const expected = newestFirst(all().filter(match));
      expect(expected.length, query).toBeGreaterThan(0);
      const got = await readAll(`${query}&limit=300`);
      expect(
        got.map((r) => r.seq),
        query,
      ).toEqual(expected);
    }
    // A filter nothing matches is an empty page, not an error.
    const none = await get('actor=nobody');
    expect(none.status).toBe(200);
    expect(none.body).toMatchObject({ records: [], next: null, chain: { count: 0, problems: [] } });
  });

  it('exports NDJSON and CSV with the same filters and page, and the next cursor in a header', async () => {
    const json = await get('action=alert.ack&outcome=ok&limit=200');
    const ndjson = await admin.fetch('api/v1/audit?format=ndjson&action=alert.ack&outcome=ok&limit=200');
    expect(ndjson.status).toBe(200);
    expect(ndjson.headers.get('content-type')).toContain('application/x-ndjson');
    expect(ndjson.headers.get('x-sg-audit-next')).toBe(String(json.body.next));
    expect(await ndjson.text()).toBe(json.body.records.map(auditNdjsonLine).join(''));
    const csv = await admin.fetch('api/v1/audit?format=csv&action=alert.ack&outcome=ok&limit=200');
    expect(csv.headers.get('content-disposition')).toContain('slopeguard-audit.csv');
    expect(await csv.text()).toBe(AUDIT_CSV_HEADER + json.body.records.map(auditCsvLine).join(''));
    // The last page of an export has no next cursor.
    const last = await admin.fetch('api/v1/audit?format=csv&actor=nobody');
    expect(last.headers.get('x-sg-audit-next')).toBeNull();
  });

  it('still reads forward from a seq with after, oldest first', async () => {
    const { body } = await get('after=10&limit=5&actor=park');
    const expected = all()
      .filter((r) => r.seq > 10 && r.actor === 'park')
      .slice(0, 5)
      .map((r) => r.seq);
    expect(body.records.map((r) => r.seq)).toEqual(expected);
    expect(body.next).toBe(expected.at(-1));
  });

  it('refuses hostile query input with a 400 code, counted, logged at most once a minute', async () => {
    const before = await refused400();
    const long = (n: number) => 'x'.repeat(n);
    const cases: Array<[string, string]> = [
      ['limit=1000000', 'SG_ERR_BAD_REQUEST'],
      ['limit=0', 'SG_ERR_BAD_REQUEST'],
      ['limit=-1', 'SG_ERR_BAD_REQUEST'],
      ['limit=1&limit=2', 'SG_ERR_BAD_REQUEST'],
      ['before=-1', 'SG_ERR_BAD_REQUEST'],
      ['after=-5', 'SG_ERR_BAD_REQUEST'],
      ['before=1e400', 'SG_ERR_BAD_REQUEST'],
      ['limit=1e400', 'SG_ERR_BAD_REQUEST'],
      ['before=99999999999999999999', 'SG_ERR_BAD_REQUEST'],
      ['before=10&after=5', 'SG_ERR_BAD_REQUEST'],
      ['action=user.delete_everything', 'SG_ERR_AUDIT_ACTION'],
      ["action=user'%20OR%201=1--", 'SG_ERR_AUDIT_ACTION'],
      ['action=%25', 'SG_ERR_AUDIT_ACTION'],
      [`actor=${long(65)}`, 'SG_ERR_BAD_REQUEST'],
      [`target=${long(201)}`, 'SG_ERR_BAD_REQUEST'],
      [`action=${long(65)}`, 'SG_ERR_BAD_REQUEST'],
      ['outcome=maybe', 'SG_ERR_BAD_REQUEST'],
      ['format=xml', 'SG_ERR_BAD_REQUEST'],
      ['from=yesterday', 'SG_ERR_BAD_TIME'],
      [`from=${long(41)}`, 'SG_ERR_BAD_REQUEST'],
      ['from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z', 'SG_ERR_RANGE_ORDER'],
    ];
    for (const [query, code] of cases) {
      const { status, body } = await get(query);
      expect(status, query).toBe(400);
      expect(body.error, query).toBe(code);
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
    }
    expect(await refused400()).toBe(before + cases.length);
    // Logged once in this minute (the clock stands still), with the route and never the query.
    const lines = logLines.filter(
      (l) => l.msg === 'admin route refused a request' && l.route === '/api/v1/audit',
    );
    expect(lines).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain('delete_everything');
    now += 61_000;
    await get('limit=0');
    const again = logLines.filter(
      (l) => l.msg === 'admin route refused a request' && l.route === '/api/v1/audit',
    );
    expect(again).toHaveLength(2);
    expect(again[1]?.notLoggedSinceLast).toBe(cases.length - 1);
  });

  it('is for admins only', async () => {
    const low = await operator.fetch('api/v1/audit?limit=1');
    expect(low.status).toBe(403);
    expect((await fetch(`${center.url}api/v1/audit`)).status).toBe(401);
    expect((await operator.fetch('api/v1/audit/verify')).status).toBe(403);
  });

  it('reports the chain honestly for what it returned; the whole trail on /verify', async () => {
    expect(
      ((await (await admin.fetch('api/v1/audit/verify')).json()) as { problems: unknown[] }).problems,
    ).toEqual([]);
    // Someone with the file goes around the append-only triggers: edits record 100, deletes 200.
    const raw = new DatabaseSync(join(dir, 'cc.sqlite'));
    raw.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    raw.exec("UPDATE audit SET actor = 'someone-else' WHERE seq = 100");
    raw.exec('DELETE FROM audit WHERE seq = 200');
    raw.close();

    const around = await get('before=210&limit=20');
    expect(around.body.chain.problems).toEqual([{ seq: 201, problem: 'missing_before' }]);
    const edited = await get('before=101&limit=1');
    expect(edited.body.chain.problems).toEqual([{ seq: 100, problem: 'edited' }]);
    // A page that holds neither says nothing about them: the check covers what was returned.
    const elsewhere = await get('before=3000&limit=100');
    expect(elsewhere.body.chain).toEqual({ covers: 'returned', count: 100, problems: [] });
    const whole = (await (await admin.fetch('api/v1/audit/verify')).json()) as {
      covers: string;
      problems: Array<{ seq: number; problem: string }>;
    };
    expect(whole.covers).toBe('all');
    expect(whole.problems).toEqual([
      { seq: 100, problem: 'edited' },
      { seq: 201, problem: 'missing_before' },
    ]);
  });

  it('documents the filters and cursor in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${center.url}docs/json`)).json()) as {
      paths: Record<string, { get?: { parameters?: Array<{ name: string; in: string }> } }>;
    };
    const names = (doc.paths['/api/v1/audit']?.get?.parameters ?? [])
      .filter((p) => p.in === 'query')
      .map((p) => p.name);
    expect(names.sort()).toEqual(
      ['action', 'actor', 'after', 'before', 'format', 'from', 'limit', 'outcome', 'target', 'to'].sort(),
    );
    expect(doc.paths['/api/v1/audit/verify']?.get).toBeDefined();
    expect(AUDIT_ACTIONS).toContain('user.enable');
  });
});
