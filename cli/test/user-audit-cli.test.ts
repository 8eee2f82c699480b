import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';

/** `slopeguard user` and `slopeguard audit` on a real operational database file. */
async function run(args: string[]): Promise<{ code: number; out: string }> {
  const log = console.log;
  const error = console.error;
  const write = process.stdout.write;
  const out: string[] = [];
  console.log = (s: string) => out.push(`${s}\n`);
  console.error = (s: string) => out.push(`${s}\n`);
  process.stdout.write = ((s: string) => {
    out.push(s);
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await main(args);
    return { code, out: out.join('') };
  } finally {
    console.log = log;
    console.error = error;
    process.stdout.write = write;
  }
}

describe('slopeguard user / audit', () => {
  let dir: string;
  let db: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-user-'));
    db = join(dir, 'data', 'control-center.sqlite');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('adds, lists, changes and disables users, printing a generated password once', async () => {
    const add = await run(['user', 'add', '--name', 'choi', '--role', 'operator', '--db', db]);
    expect(add.code).toBe(0);
    expect(add.out).toMatch(/password {2}[A-Za-z0-9_-]{20}/);
    expect((await run(['user', 'add', '--name', 'choi', '--role', 'operator', '--db', db])).code).toBe(1);
    expect((await run(['user', 'add', '--name', 'x', '--role', 'boss', '--db', db])).code).toBe(2);
    expect((await run(['user', 'passwd', '--name', 'choi', '--db', db])).code).toBe(0);
    expect((await run(['user', 'disable', '--name', 'choi', '--db', db])).code).toBe(0);
    const list = await run(['user', 'list', '--json', '--db', db]);
    expect(JSON.parse(list.out)).toEqual([
      expect.objectContaining({ username: 'choi', role: 'operator', disabled: true }),
    ]);
  });

  it('audit verify passes an intact trail and reports an edited and a deleted record', async () => {
    for (const name of ['han', 'jung', 'kang'])
      await run(['user', 'add', '--name', name, '--role', 'viewer', '--db', db]);
    const intact = await run(['audit', 'verify', '--db', db]);
    expect(intact.code).toBe(0);
    expect(intact.out).toContain('audit trail intact: 6 records');
    const csv = await run(['audit', 'export', '--format', 'csv', '--db', db]);
    expect(csv.out.split('\n')[0]).toBe('seq,ts,time,actor,address,action,target,outcome,detail,prev,hash');
    expect(csv.out.trim().split('\n')).toHaveLength(7);

    // Someone with the file goes around the append-only triggers.
    const raw = new DatabaseSync(db);
    raw.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    raw.exec("UPDATE audit SET target = 'someone-else' WHERE seq = 2");
    raw.exec('DELETE FROM audit WHERE seq = 4');
    raw.close();
    const broken = await run(['audit', 'verify', '--db', db]);
    expect(broken.code).toBe(1);
    expect(broken.out).toContain('record 2: edited');
    expect(broken.out).toContain('record 5: record(s) deleted before it');
    expect(broken.out).toContain('audit trail NOT intact');
  });

  it('audit head and verify --head find records deleted from the end, which leave no gap', async () => {
    const other = join(dir, 'other', 'control-center.sqlite');
    expect((await run(['audit', 'head', '--db', other])).out.trim()).toBe('0:-');
    for (const name of ['han', 'jung', 'kang'])
      await run(['user', 'add', '--name', name, '--role', 'viewer', '--db', other]);
    const recorded = (await run(['audit', 'head', '--db', other])).out.trim();
    expect(recorded).toMatch(/^3:[0-9a-f]{64}$/);
    const ok = await run(['audit', 'verify', '--head', recorded, '--db', other]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('audit trail intact: 3 records, head 3 as recorded');
    // Later records do not matter to an older recorded head.
    await run(['user', 'add', '--name', 'lee', '--role', 'viewer', '--db', other]);
    expect((await run(['audit', 'verify', '--head', recorded, '--db', other])).code).toBe(0);

    // Someone deletes the newest two records: the rest is a whole chain, only the head shows it.
    const raw = new DatabaseSync(other);
    raw.exec('DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;');
    raw.exec('DELETE FROM audit WHERE seq >= 3');
    expect((await run(['audit', 'verify', '--db', other])).code).toBe(0);
    const cut = await run(['audit', 'verify', '--head', recorded, '--db', other]);
    expect(cut.code).toBe(1);
    expect(cut.out).toContain('record 3 (the recorded head): gone, records were deleted from the end');
    const earlier = (await run(['audit', 'head', '--db', other])).out.trim();
    expect(earlier).toMatch(/^2:/);
    raw.exec(`UPDATE audit SET hash = '${'0'.repeat(64)}' WHERE seq = 2`);
    raw.close();
    const changed = await run(['audit', 'verify', '--head', earlier, '--db', other]);
    expect(changed.code).toBe(1);
    expect(changed.out).toContain('record 2 (the recorded head): its hash is not the recorded one');
    expect((await run(['audit', 'verify', '--head', 'latest', '--db', other])).code).toBe(2);
  });
});
