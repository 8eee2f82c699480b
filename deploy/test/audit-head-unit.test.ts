import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../edge/test/helpers.ts';
import { parseUnit, ROOT } from '../unit-file.ts';

const run = promisify(execFile);
const UNIT = join(ROOT, 'deploy', 'systemd', 'slopeguard-audit-head.service');
const TIMER = join(ROOT, 'deploy', 'systemd', 'slopeguard-audit-head.timer');
const INSTALLED_DB = '/var/lib/slopeguard/control-center.sqlite';

/**
 * deploy/systemd/slopeguard-audit-head.service as systemd runs it (install paths mapped onto the
 * checkout, the server's database onto a temporary one): it prints the head that
 * `slopeguard audit verify --head` takes, and its timer runs it hourly.
 */
describe('the audit head unit and timer', () => {
  it("prints the trail's head, which verify --head accepts", async () => {
    const tmp = tempDir('audit-head-unit');
    try {
      const db = join(tmp.dir, 'control-center.sqlite');
      const cli = join(ROOT, 'bin', 'slopeguard.mjs');
      const node = join(ROOT, 'node_modules', '.bin', 'node');
      await run(node, [cli, 'user', 'add', '--name', 'kim', '--role', 'viewer', '--db', db]);
      const words = parseUnit(readFileSync(UNIT, 'utf8')).execStart.map((w) =>
        w === INSTALLED_DB
          ? db
          : w.startsWith('/opt/slopeguard/')
            ? join(ROOT, w.slice('/opt/slopeguard/'.length))
            : w,
      );
      expect(words.slice(-4)).toEqual(['audit', 'head', '--db', db]);
      const [command, ...args] = words;
      const { stdout } = await run(command as string, args, { cwd: ROOT });
      expect(stdout.trim()).toMatch(/^1:[0-9a-f]{64}$/);
      const verified = await run(node, [cli, 'audit', 'verify', '--head', stdout.trim(), '--db', db]);
      expect(verified.stdout).toContain('audit trail intact: 1 records, head 1 as recorded');
    } finally {
      tmp.cleanup();
    }
  }, 30_000);

  it('is run hourly by its timer, confined like the server unit', () => {
    const timer = readFileSync(TIMER, 'utf8');
    expect(timer).toMatch(/^\[Timer\]$/m);
    expect(timer).toMatch(/^OnCalendar=hourly$/m);
    expect(timer).toMatch(/^WantedBy=timers\.target$/m);
    const unit = readFileSync(UNIT, 'utf8');
    expect(unit).toMatch(/^Type=oneshot$/m);
    expect(unit).toMatch(/^ReadWritePaths=\/var\/lib\/slopeguard$/m);
    expect(unit).toMatch(/^ProtectSystem=strict$/m);
  });
});
