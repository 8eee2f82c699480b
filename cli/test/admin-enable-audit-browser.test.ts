import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WEB_ROOT } from '@slopeguard/control-center';
import pino from 'pino';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../control-center/test/browser.ts';
import { type DemoStack, startDemoStack } from '../demo/stack.ts';

/**
 * The admin page in Debian's headless Chromium against the demo stack: a disabled user enabled
 * again with its button, and the audit view paging the server's trail newest first down to its
 * first record, filtering on the server, and saying when an action is unknown.
 */
const poll = <T>(f: () => Promise<T> | T) => expect.poll(f, { timeout: 15_000 });

describe('admin page: enable a user, page the audit trail (Chromium)', { timeout: 90_000 }, () => {
  let dir: string;
  let stack: DemoStack;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(join(DEFAULT_WEB_ROOT, 'index.html')))
      throw new Error('dashboard not built: run `npm run build:web` (npm test does it first)');
    dir = mkdtempSync(join(tmpdir(), 'sg-dash-enable-'));
    stack = await startDemoStack({
      host: '127.0.0.1',
      mqttPort: 0,
      httpPort: 0,
      dataDir: dir,
      sites: 1,
      intervalMs: 0,
      logger: pino({ level: 'silent' }),
    });
    await stack.center.users.add('night-op', 'operator', 'night-operator-pw-1');
    stack.center.users.setDisabled('night-op', true);
    // More records than three pages of 50.
    for (let i = 0; i < 160; i++)
      stack.center.audit.append({
        actor: 'kim',
        address: '10.0.0.9',
        action: i % 2 ? 'alert.ack' : 'alert.comment',
        target: `alert:${i}`,
        outcome: i % 4 === 0 ? 'refused' : 'ok',
      });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('enables a disabled user and pages, filters and checks the audit trail on the server', async () => {
    const context = await browser.newContext({ viewport: { width: 1024, height: 768 } });
    const page = await context.newPage();
    page.on('dialog', (d) => void d.accept());
    await page.goto(stack.dashboardUrl);
    await page.fill('#signin-user', stack.admin.username);
    await page.fill('#signin-password', stack.admin.password);
    await page.click('#signin button');
    await page.locator('#conn.up').waitFor();
    await page.locator('#nav-admin:not([hidden])').click();

    // Enable: the button is offered only on a disabled account.
    const row = page.locator('.admin-users tr[data-user="night-op"]');
    await poll(() => row.getAttribute('data-disabled')).toBe('true');
    expect(await page.locator('.admin-users tr[data-user="admin"] button.enable').count()).toBe(0);
    await row.locator('button.enable').click();
    await poll(() =>
      page.locator('.admin-users tr[data-user="night-op"]').getAttribute('data-disabled'),
    ).toBe('false');
    expect(stack.center.users.get('night-op')?.disabled).toBe(false);
    expect(await page.locator('.admin-users tr[data-user="night-op"] button.enable').count()).toBe(0);
    const audit = page.locator('.admin-audit table.audit');
    await poll(() => audit.locator('tr[data-seq]').first().getAttribute('data-action')).toBe('user.enable');

    // Paging: Older down to the first record, every record once, newest first.
    const total = [...stack.center.audit.iterate()].map((r) => r.seq).reverse();
    const older = page.locator('.audit-pager button').nth(1);
    const newer = page.locator('.audit-pager button').nth(0);
    const seen: number[] = [];
    for (let p = 0; p < 20; p++) {
      const seqs = (await audit
        .locator('tr[data-seq]')
        .evaluateAll((rows) => rows.map((r) => Number((r as HTMLElement).dataset.seq)))) as number[];
      seen.push(...seqs);
      if (await older.isDisabled()) break;
      const last = seqs.at(-1);
      await older.click();
      await poll(() => audit.locator('tr[data-seq]').first().getAttribute('data-seq')).not.toBe(
        String(seqs[0]),
      );
      expect(Number(await audit.locator('tr[data-seq]').first().getAttribute('data-seq'))).toBeLessThan(
        last as number,
      );
    }
    expect(seen).toEqual(total);
    await newer.click();
    await poll(() => audit.locator('tr[data-seq]').count()).toBe(50);

    // Filters go to the server: a family and an outcome.
    await page.fill('.audit-filters input[name="action"]', 'alert');
    await page.selectOption('.audit-filters select[name="outcome"]', 'refused');
    await poll(() => audit.locator('tr[data-seq]').count()).toBe(40);
    expect(await audit.locator('tr[data-outcome="ok"]').count()).toBe(0);
    expect(await page.locator('a.export-csv').getAttribute('href')).toContain('action=alert&outcome=refused');
    // An action the server does not know is said, not sent.
    await page.fill('.audit-filters input[name="action"]', 'alert.delete');
    await poll(() => page.locator('.audit-status').getAttribute('class')).toContain('stale');
    expect(await page.locator('a.export-csv').getAttribute('href')).toBeNull();
    // The whole trail, checked on request.
    await page.locator('button.audit-verify').click();
    await poll(() => page.locator('.audit-whole').textContent()).toContain(`(${total.length})`);
    await context.close();
  });
});
