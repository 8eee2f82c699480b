import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn } from '../../control-center/test/browser.ts';
import type { DemoStack } from '../demo/stack.ts';
import { dashboardBed } from './demo-bed.ts';

/**
 * The dashboard's backtest view (issue 12) in Debian's headless Chromium against the demo stack with
 * its story (24 h of stored history; demo-a in a storm): a viewer opens it from the site page, runs
 * the last 24 h with the site's thresholds, raises one threshold with the keyboard, runs again and
 * sees the level changes differ; then uploads a backtest CSV. At 1024 px, in Korean.
 * With SG_SCREENSHOTS=1 it saves docs/screenshots/backtest.png.
 */
const SHOTS = process.env.SG_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs/screenshots') : null;
const poll = <T>(f: () => Promise<T> | T) => expect.poll(f, { timeout: 30_000 });

interface Row {
  ts: number;
  level: number;
  why: string;
}
async function changes(page: Page, run: 'current' | 'proposed'): Promise<Row[]> {
  return page.$$eval(`.bt-changes[data-run="${run}"] tr[data-ts]`, (rows) =>
    rows.map((r) => ({
      ts: Number(r.getAttribute('data-ts')),
      level: Number(r.getAttribute('data-level')),
      why: r.lastElementChild?.textContent ?? '',
    })),
  );
}

describe('backtest view in headless Chromium', { timeout: 180_000 }, () => {
  const bed = dashboardBed('btview', { sites: 3, intervalMs: 1000, story: true });
  let stack: DemoStack;
  const viewer = { username: 'duty-viewer', password: 'viewer-password-for-the-test' };

  beforeAll(async () => {
    stack = await bed.start();
    await stack.ready;
    await stack.center.users.add(viewer.username, 'viewer', viewer.password);
  }, 180_000);

  afterAll(() => bed.close());

  it('runs the stored storm, then a raised threshold gives different level changes', async () => {
    const context = await bed.browser.newContext({ viewport: { width: 1024, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await signIn(page, stack.dashboardUrl, viewer);

    // From the site page's link; the view opens with the site picked and its rules loaded.
    await page.goto(`${stack.dashboardUrl}#/site/demo-a`);
    await page.locator('a.bt-link').click();
    await poll(() => page.evaluate(() => location.hash)).toBe('#/backtest/demo-a');
    expect(await page.locator('#bt-site').inputValue()).toBe('demo-a');
    const threshold = page.locator('#bt-th-displacement-level2-mmPerHour');
    await poll(() => threshold.getAttribute('data-current')).toBe('2');
    await poll(() => page.locator('#nav-backtest').textContent()).toBe('백테스트');

    // The last 24 h (the default period) with the site's own thresholds.
    await page.click('#bt-run');
    const results = page.locator('#bt-results[data-ready="true"]');
    await results.waitFor({ timeout: 60_000 });
    const before = await changes(page, 'current');
    // The storm's history: level 2 is reached, with the engine's reasons in words.
    const two = before.find((c) => c.level >= 2);
    expect(two, JSON.stringify(before)).toBeDefined();
    expect(two?.why).toContain('displacement rate');
    // Nothing changed yet: both runs alike, and the band shows the same levels.
    expect(await page.locator('#bt-results').getAttribute('data-differ')).toBe('false');
    expect(await changes(page, 'proposed')).toEqual(before);
    expect(await page.locator('.bt-band[data-run="current"] .bt-seg').count()).toBeGreaterThan(1);
    await poll(() => page.locator('.bt-charts .chart').count()).toBeGreaterThan(0);

    // The keyboard: the threshold field, a new value, Enter submits the form.
    await threshold.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('20');
    await page.keyboard.press('Enter');
    await poll(() => page.locator('#bt-results').getAttribute('data-differ')).toBe('true');
    const current = await changes(page, 'current');
    const proposed = await changes(page, 'proposed');
    expect(current).toEqual(before);
    expect(proposed).not.toEqual(current);
    // 2 mm/h no longer raises level 2: it comes later, or not at all.
    const later = proposed.find((c) => c.level >= 2);
    if (later) expect(later.ts).toBeGreaterThan(two?.ts ?? 0);
    expect(await page.locator('#bt-summary').textContent()).toContain('현재 기준');

    // Works at 1024 px: nothing wider than the viewport.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      // The form, the comparison, the bands and the first changes; the charts below are the report's.
      await page.screenshot({
        path: join(SHOTS, 'backtest.png'),
        fullPage: true,
        clip: { x: 0, y: 0, width: 1024, height: 1500 },
      });
    }

    // English is one click away, kept values and all.
    await page.click('#lang');
    await poll(() => page.locator('#bt-run').textContent()).toBe('Run');
    expect(await threshold.inputValue()).toBe('20');
    expect(await page.locator('#bt-summary').textContent()).toContain('Current settings');
    await page.click('#lang');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('runs an uploaded backtest CSV and says which rows it skipped', async () => {
    const page = await bed.page(viewer, { width: 1024, height: 800 });
    await page.goto(`${stack.dashboardUrl}#/backtest`);
    await page.locator('#bt-site').selectOption('demo-a');
    await poll(() => page.locator('#bt-th-rain-level2-mm3h').getAttribute('data-current')).toBe('90');

    // A refusal is said in words: the start after the end.
    await page.fill('#bt-from', '2030-01-02T00:00');
    await page.fill('#bt-to', '2030-01-01T00:00');
    await page.click('#bt-run');
    await poll(() => page.locator('#bt-status').textContent()).toBe('시작이 끝보다 늦습니다');

    // The CLI's format: 10 mm every 5 min for 90 min on rain-1, then dry; one bad row.
    const t0 = Date.UTC(2026, 6, 27, 0, 0);
    const lines = ['ts,sensor,kind,field,value'];
    for (let i = 0; i <= 12 * 12; i++) {
      const ts = new Date(t0 + i * 300_000).toISOString();
      lines.push(`${ts},rain-1,rain,mm,${i >= 12 && i < 30 ? 10 : 0}`);
    }
    lines.push('2026-07-27 09:00,rain-1,rain,mm,1');
    const file = join(bed.dir, 'storm.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    await page.setInputFiles('#bt-csv', file);
    await poll(() => page.locator('#bt-csv-note').textContent()).toContain('계측값 145개');
    expect(await page.locator('#bt-csv-note').textContent()).toContain('no offset');
    expect(await page.locator('#bt-from').isDisabled()).toBe(true);

    await page.fill('#bt-th-rain-level2-mm3h', '170');
    await page.click('#bt-run');
    await page.locator('#bt-results[data-ready="true"]').waitFor({ timeout: 60_000 });
    const current = await changes(page, 'current');
    const proposed = await changes(page, 'proposed');
    // 90 mm in 3 h: 40 min into the storm (the 9th 10 mm reading); 170 mm: 80 min in.
    const at2 = (rows: Row[]) => rows.find((c) => c.level === 2)?.ts;
    expect(at2(current)).toBe(t0 + (12 + 8) * 300_000);
    expect(at2(proposed)).toBe(t0 + (12 + 16) * 300_000);
    expect(current.find((c) => c.level === 2)?.why).toContain('90');
    await page.context().close();
  });
});
