import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteAuditLog, verifyAudit } from '@slopeguard/control-center/audit/audit-log.ts';
import { sqliteSessionStore } from '@slopeguard/control-center/auth/sessions.ts';
import { sqliteUserStore } from '@slopeguard/control-center/auth/users.ts';
import { openOperationalDb } from '@slopeguard/control-center/db/open.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../main.ts';

/** `slopeguard user enable` on a real operational database file. */
async function run(args: string[]): Promise<{ code: number; out: string }> {
  const log = console.log;
  const error = console.error;
  const out: string[] = [];
  console.log = (s: string) => out.push(`${s}\n`);
  console.error = (s: string) => out.push(`${s}\n`);
  try {
    return { code: await main(args), out: out.join('') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe('slopeguard user enable', () => {
  let dir: string;
  let db: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-cli-enable-'));
    db = join(dir, 'data', 'control-center.sqlite');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('enables a disabled user, audits it, and leaves no session of theirs alive', async () => {
    expect((await run(['user', 'add', '--name', 'yoon', '--role', 'operator', '--db', db])).code).toBe(0);
    expect((await run(['user', 'disable', '--name', 'yoon', '--db', db])).code).toBe(0);
    // A session that slipped in while the account was disabled (a sign-in finishing late).
    const file = openOperationalDb(db);
    const id = sqliteUserStore(file).get('yoon')?.id as number;
    const late = sqliteSessionStore(file, 3_600_000).create(id, '127.0.0.1');
    file.close();

    const enable = await run(['user', 'enable', '--name', 'yoon', '--db', db]);
    expect(enable.code).toBe(0);
    expect(enable.out).toContain('Enabled yoon');
    const list = await run(['user', 'list', '--json', '--db', db]);
    expect(JSON.parse(list.out)).toEqual([expect.objectContaining({ username: 'yoon', disabled: false })]);

    const after = openOperationalDb(db);
    try {
      expect(sqliteSessionStore(after, 3_600_000).get(late.token)).toBeUndefined();
      const records = [...sqliteAuditLog(after).iterate()];
      expect(records.at(-1)).toMatchObject({
        actor: 'cli',
        address: 'local',
        action: 'user.enable',
        target: 'yoon',
        outcome: 'ok',
        detail: { wasDisabled: true },
      });
      expect(verifyAudit(records).problems).toEqual([]);
    } finally {
      after.close();
    }
  });

  it('says when nothing changed, fails on an unknown user, and needs --name', async () => {
    const again = await run(['user', 'enable', '--name', 'yoon', '--db', db]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('was not disabled');
    const unknown = await run(['user', 'enable', '--name', 'nobody', '--db', db]);
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('SG_ERR_NO_USER');
    expect((await run(['user', 'enable', '--db', db])).code).toBe(2);
  });
});
