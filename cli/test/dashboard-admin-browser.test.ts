import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../demo/stack.ts';
import { dashboardBed } from './demo-bed.ts';

/**
 * Issue 12, "Admins: users, tokens, audit log with export", in Debian's headless Chromium against
 * the demo stack: an admin adds a user and an API token (the secret shown once), resets a password,
 * disables the user, revokes the token, and finds each action in the audit list (filtered) and in
 * its CSV export; a viewer gets no admin view and the admin API refuses them.
 */
const poll = <T>(f: () => Promise<T> | T) => expect.poll(f, { timeout: 15_000 });

describe('admin page in headless Chromium', { timeout: 90_000 }, () => {
  const bed = dashboardBed('dash-admin', { sites: 1, intervalMs: 0 });
  let stack: DemoStack;
  const viewer = { username: 'watcher', password: 'viewer-password-1' };

  beforeAll(async () => {
    stack = await bed.start();
    await stack.center.users.add(viewer.username, 'viewer', viewer.password);
  });

  afterAll(() => bed.close());

  it('lets an admin add a user and a token, shown once, and find both in the audit list and its export', async () => {
    const page = await bed.page(stack.admin);
    // Disabling and revoking ask first: the admin says yes.
    page.on('dialog', (d) => void d.accept());
    await page.locator('#nav-admin:not([hidden])').click();
    await page.locator('#view-admin:not([hidden]) .admin-users table').waitFor();
    // No button to lock oneself out.
    await page.locator('.admin-users tr[data-user="admin"]').waitFor();
    expect(await page.locator('.admin-users tr[data-user="admin"] button.disable').count()).toBe(0);

    // A user, added with the keyboard.
    const add = page.locator('form.admin-add-user');
    await add.locator('input[name="username"]').fill('night-op');
    await add.locator('select[name="role"]').selectOption('operator');
    await add.locator('input[name="password"]').fill('night-operator-pw-1');
    await add.locator('input[name="password"]').press('Enter');
    const user = page.locator('.admin-users tr[data-user="night-op"]');
    await poll(() => user.textContent()).toContain('operator');
    expect(stack.center.users.get('night-op')?.role).toBe('operator');

    // A password reset, then the user disabled.
    await user.locator('form.admin-passwd input').fill('new-night-password-2');
    await user.locator('form.admin-passwd button').click();
    await poll(() =>
      stack.center.users.verify('night-op', 'new-night-password-2').then((u) => u?.username),
    ).toBe('night-op');
    await page.locator('.admin-users tr[data-user="night-op"] button.disable').click();
    await poll(() =>
      page.locator('.admin-users tr[data-user="night-op"]').getAttribute('data-disabled'),
    ).toBe('true');

    // A token: the secret is shown once, and it works against the API.
    const make = page.locator('form.admin-add-token');
    await make.locator('input[name="name"]').fill('gis-export');
    await make.locator('select[name="scope"]').selectOption('read');
    await make.locator('button').click();
    const once = page.locator('.token-once code');
    await once.waitFor();
    const secret = (await once.textContent()) ?? '';
    expect(secret.length).toBeGreaterThan(20);
    const token = page.locator('.admin-tokens tr[data-name="gis-export"]');
    expect(await token.textContent()).toContain('read');
    expect(await token.textContent()).not.toContain(secret);
    const asToken = await fetch(`${stack.dashboardUrl}api/v1/sites`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(asToken.status).toBe(200);
    // Revoked, it no longer does; the secret is not shown again.
    await token.locator('button.revoke').click();
    await poll(() => page.locator('.admin-tokens tr[data-name="gis-export"]').textContent()).toContain(
      '폐기됨',
    );
    expect(await page.locator('.token-once').count()).toBe(0);
    const revoked = await fetch(`${stack.dashboardUrl}api/v1/sites`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(revoked.status).toBe(401);

    // The audit list, newest first, has each action; the filters narrow it.
    const audit = page.locator('.admin-audit table.audit');
    await poll(() => audit.locator('tr[data-action="token.revoke"]').count()).toBe(1);
    for (const action of ['user.add', 'user.passwd', 'user.disable', 'token.create'])
      expect(await audit.locator(`tr[data-action="${action}"]`).count(), action).toBe(1);
    expect(await audit.locator('tr[data-seq]').first().getAttribute('data-action')).toBe('token.revoke');
    await page.fill('.audit-filters input[name="action"]', 'token.');
    await poll(() => audit.locator('tr[data-seq]').count()).toBe(2);
    expect(await audit.locator('tr[data-action="user.add"]').count()).toBe(0);
    expect(await audit.locator('tr[data-action="token.create"]').textContent()).toContain('gis-export');
    await page.fill('.audit-filters input[name="action"]', '');
    await page.selectOption('.audit-filters select[name="outcome"]', 'ok');
    await poll(() => audit.locator('tr[data-outcome="refused"]').count()).toBe(0);

    // Export: the links fetch the API's CSV and NDJSON with the admin's session.
    const exported = await page.evaluate(async () => {
      const get = async (sel: string) => {
        const href = document.querySelector<HTMLAnchorElement>(sel)?.href ?? '';
        const res = await fetch(href);
        return { type: res.headers.get('content-type') ?? '', body: await res.text() };
      };
      return { csv: await get('a.export-csv'), ndjson: await get('a.export-ndjson') };
    });
    expect(exported.csv.type).toContain('text/csv');
    expect(exported.csv.body).toContain('user.add');
    expect(exported.csv.body).toContain('token.create');
    expect(exported.ndjson.type).toContain('ndjson');
    const lines = exported.ndjson.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string });
    expect(lines.map((l) => l.action)).toContain('user.disable');
    // 1024 px: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
    await page.context().close();
  });

  it('gives a viewer no admin view, and the admin API refuses them', async () => {
    const page = await bed.page(viewer);
    expect(await page.locator('#nav-admin').isHidden()).toBe(true);
    await page.goto(`${stack.dashboardUrl}#/admin`);
    await page.locator('#conn.up').waitFor();
    await page.locator('#view-map:not([hidden])').waitFor();
    expect(await page.locator('#view-admin').isHidden()).toBe(true);
    expect(await page.locator('#view-admin *').count()).toBe(0);
    const statuses = await page.evaluate(async () =>
      Promise.all(
        ['/api/v1/users', '/api/v1/tokens', '/api/v1/audit'].map(async (p) => (await fetch(p)).status),
      ),
    );
    expect(statuses).toEqual([403, 403, 403]);
    await page.context().close();
  });
});
