import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../demo/stack.ts';
import { dashboardBed } from './demo-bed.ts';

/**
 * The dashboard in a real headless Chromium (Debian's, installed by .ci/run), against the real
 * stack (broker, control center, gateway agents with simulated sensors): sign in, the map and the list, a
 * site going silent, the alert inbox, language, the "not live" banner, a site page.
 * With SG_SCREENSHOTS=1 it also saves the screenshots shown in the README (docs/screenshots/).
 */
const SHOTS = process.env.SG_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs/screenshots') : null;

/** Waits for the page (sign-in hashes a password, renders are per frame): generous under CI load. */
const poll = <T>(f: () => Promise<T> | T) => expect.poll(f, { timeout: 15_000 });

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Where a site is drawn on the map canvas, in page coordinates (from the canvas fallback). */
async function mapPoint(page: Page, site: string): Promise<{ x: number; y: number }> {
  const a = page.locator(`.site-fallback a[data-site="${site}"]`);
  const box = await page.locator('#map').boundingBox();
  if (!box) throw new Error('map not visible');
  return {
    x: box.x + Number(await a.getAttribute('data-x')),
    y: box.y + Number(await a.getAttribute('data-y')),
  };
}

/** The RGB of the map canvas at a page point (the pixel an official sees there). */
async function pixel(page: Page, x: number, y: number): Promise<number[]> {
  return page.evaluate(
    ({ px, py }) => {
      const c = document.querySelector<HTMLCanvasElement>('.site-canvas');
      if (!c) return [];
      const r = c.getBoundingClientRect();
      const k = c.width / r.width;
      const d = c
        .getContext('2d')
        ?.getImageData(Math.round((px - r.left) * k), Math.round((py - r.top) * k), 1, 1).data;
      return d ? [d[0] ?? 0, d[1] ?? 0, d[2] ?? 0] : [];
    },
    { px: x, py: y },
  );
}

// Each test drives a whole browser against the whole stack; on a loaded two-core CI machine one
// took 25 s of vitest's default 30 s, so the budget is per-test 90 s (the polls keep their 15 s).
describe('dashboard in headless Chromium', { timeout: 90_000 }, () => {
  const bed = dashboardBed('dash', { sites: 3, intervalMs: 0 });
  let stack: DemoStack;

  beforeAll(async () => {
    stack = await bed.start();
    for (const gw of stack.gateways) await gw.publishOnce();
  });

  afterAll(() => bed.close());

  it('signs in, shows every site, turns a silent site "no data", acknowledges its alert', async () => {
    const context = await bed.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(stack.dashboardUrl);
    // Signed out: the sign-in form, no data.
    await page.locator('#signin:not([hidden])').waitFor();
    expect(await page.locator('.site-row').count()).toBe(0);
    await page.fill('#signin-user', stack.admin.username);
    await page.fill('#signin-password', 'wrong-password-here');
    await page.click('#signin button');
    await poll(() => page.locator('#signin-error').textContent()).toContain('비밀번호가 틀립니다');
    await page.fill('#signin-password', stack.admin.password);
    await page.click('#signin button');
    await page.locator('#conn.up').waitFor();

    // Every site on the list and on the map, with its level in words (Korean by default).
    const rows = page.locator('.site-row');
    await poll(() => rows.count()).toBe(3);
    // The map is one canvas; its fallback content (for screen readers) names each site as drawn.
    await poll(() => page.locator('.site-canvas').getAttribute('data-drawn')).toBe('3');
    await poll(() => page.locator('.site-fallback a[data-site]').count()).toBe(3);
    const row = (site: string) => page.locator(`.site-row[data-site="${site}"]`);
    await poll(() => row('demo-a').textContent()).toContain('정상');
    expect(await row('demo-a').getAttribute('data-condition')).toBe('ok');

    // Search narrows the list.
    await page.fill('#search', 'demo-b');
    await poll(() => rows.count()).toBe(1);
    await page.fill('#search', '');
    await poll(() => rows.count()).toBe(3);

    // A gateway stops: its site reads "no data", with its own shape on the map, never Normal.
    await stack.gateways[1]?.stop();
    await poll(() => row('demo-b').textContent()).toContain('데이터 없음');
    expect(await row('demo-b').getAttribute('data-condition')).toBe('no_data');
    const marker = page.locator('.site-fallback a[data-site="demo-b"]');
    await poll(() => marker.getAttribute('data-condition')).toBe('no_data');
    expect(await marker.textContent()).toContain('?');
    // What is drawn there: a white (no data) mark, not a level colour.
    // (7 px right of the centre: inside the mark, beside its "?".)
    const at = await mapPoint(page, 'demo-b');
    expect(await pixel(page, at.x + 7, at.y)).toEqual([255, 255, 255]);
    const ok = await mapPoint(page, 'demo-a');
    expect(await pixel(page, ok.x + 7, ok.y)).toEqual([0, 158, 115]);
    // Sorted by level, the silent site comes before the Normal ones.
    await poll(() => rows.first().getAttribute('data-site')).toBe('demo-b');
    await shot(page, 'map');

    // The silence opened an alert: acknowledge it with a comment, then raise the level by hand.
    await page.click('nav a[href="#/alerts"]');
    const card = page.locator('article.alert[data-site="demo-b"]');
    await card.waitFor();
    expect(await card.textContent()).toContain('데이터 없음');
    await card.locator('.act-ack input').fill('현장 확인 중 · checking on site');
    await card.locator('.act-ack button').click();
    await poll(() => card.locator('.acked').textContent()).toContain('admin');
    await card.locator('.act-manual select').selectOption('2');
    await card.locator('.act-manual input').fill('주민 신고 · residents report cracks');
    await card.locator('.act-manual button').click();
    await poll(() => card.locator('h3').textContent()).toContain('주의');
    await card.locator('details.hist summary').click();
    const hist = await card.locator('ol.history').textContent();
    expect(hist).toContain('ack');
    expect(hist).toContain('manual_level');
    expect(hist).toContain('admin');
    await shot(page, 'alerts');

    // English, remembered across a reload.
    await page.click('#lang');
    await poll(() => page.locator('nav a[href="#/alerts"]').textContent()).toBe('Alert inbox');
    await page.reload();
    await page.locator('#conn.up').waitFor();
    expect(await page.locator('nav a[href="#/"]').textContent()).toBe('Map');
    await page.click('#lang');
    await poll(() => page.locator('nav a[href="#/"]').textContent()).toBe('지도');
    await context.close();
  });

  it('prints an event report of the site that went silent, with its alert and who acknowledged it', async () => {
    const page = await bed.page(stack.admin, { width: 1280, height: 900 });
    const context = page.context();
    await page.goto(`${stack.dashboardUrl}#/report/demo-b`);
    const body = page.locator('.report-body[data-ready="true"]');
    await body.waitFor();
    // The level timeline has the silence, the acknowledgement with its comment and the manual
    // level from the first test, each with who did it.
    const ack = page.locator('.timeline tr[data-kind="acknowledged"]');
    expect(await ack.textContent()).toContain('현장 확인 중');
    expect(await ack.textContent()).toContain('admin');
    expect(await page.locator('.timeline tr[data-kind="manual_level"]').textContent()).toContain('주민 신고');
    expect(await page.locator('.report-alerts li').first().textContent()).toContain('확인됨 admin');
    await page.locator('.report-charts [data-chart="tilt"] canvas').first().waitFor();
    // Printed, only the report is on the page; the PDF is a real, multi-kilobyte document.
    await page.emulateMedia({ media: 'print' });
    expect(await page.locator('nav').isVisible()).toBe(false);
    expect(await page.locator('.report-form').isVisible()).toBe(false);
    expect(await body.isVisible()).toBe(true);
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(20_000);
    if (SHOTS) {
      await page.emulateMedia({ media: 'screen' });
      await shot(page, 'report');
      writeFileSync(join(SHOTS, 'report.pdf'), pdf);
    }
    await context.close();
  });

  it('says "not live" within 5 s of a network cut and recovers by itself', async () => {
    const page = await bed.page(stack.admin, { width: 1024, height: 768 });
    const context = page.context();
    expect(await page.locator('#live-banner').isHidden()).toBe(true);
    // Works on a 1024 px tablet: nothing wider than the screen.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1024);

    await context.setOffline(true);
    await page.locator('#live-banner:not([hidden])').waitFor({ timeout: 5000 });
    expect(await page.locator('#live-banner').textContent()).toContain('실시간 아님');
    await context.setOffline(false);
    await page.locator('#live-banner').waitFor({ state: 'hidden', timeout: 10_000 });
    await page.locator('#conn.up').waitFor();

    // Still live after recovery: a click on the site's mark on the map opens its page, and a new
    // reading reaches the page and its charts.
    await poll(() =>
      page.locator('.site-fallback a[data-site="demo-a"]').getAttribute('data-x'),
    ).not.toBeNull();
    const at = await mapPoint(page, 'demo-a');
    await page.mouse.click(at.x, at.y);
    await poll(() => page.evaluate(() => location.hash)).toBe('#/site/demo-a');
    const sent = await stack.gateways[0]?.publishOnce();
    const tilt = sent?.readings.find((r) => r.sensor === 'tilt-1');
    expect(tilt).toBeDefined();
    const valueRow = page.locator('#site-info tr[data-sensor="tilt-1"]');
    await poll(() => valueRow.textContent()).toContain(`x ${Number(tilt?.values.x).toFixed(4)}`);
    await stack.gateways[0]?.publishOnce();
    await poll(() => page.locator('[data-chart="tilt"] canvas').count()).toBeGreaterThan(0);
    // History first: the readings published before this test come from the readings API, then the
    // live ones are appended. The API downsamples (24 h in 500 buckets of 173 s), so readings a few
    // seconds apart share a point, and a live reading may already be in the history it loads: the
    // proof of history is the page's list of sensors whose history loaded, besides the live points.
    const history = () => page.locator('div.charts').first().getAttribute('data-history');
    await poll(history).toMatch(/(^| )tilt-1( |$)/);
    expect(await history()).toMatch(/(^| )rain-1( |$)/);
    const points = (chart: string) =>
      page.locator(`[data-chart="${chart}"]`).getAttribute('data-points').then(Number);
    await poll(() => points('tilt')).toBeGreaterThanOrEqual(2);
    await poll(() => points('rain')).toBeGreaterThanOrEqual(2);
    // The engine's active thresholds are drawn: tilting rate (°/h) and 3-hour rain (mm).
    expect(await page.locator('[data-chart="tilt-rate"]').getAttribute('data-thresholds')).toBe('0.01,0.1');
    expect(await page.locator('[data-chart="rain"]').getAttribute('data-thresholds')).toBe('60,90');
    await page.locator('[data-chart="inverse-velocity"] canvas').first().waitFor();
    // Sensor health from the engine, and gateway health.
    await poll(() =>
      page.locator('.sensor-states li[data-sensor="tilt-1"]').getAttribute('data-status'),
    ).toBe('ok');
    const gw = page.locator('.gw-card[data-gateway="gw-1"]');
    await poll(() => gw.locator('p').first().textContent()).toContain('온라인');
    // An operator command goes to the gateway and is listed with who sent it.
    await gw.locator('.act-command select').selectOption('health-report');
    await gw.locator('.act-command button').click();
    await poll(() => gw.locator('.act-command .acked').textContent()).toContain('health-report');
    await shot(page, 'site');
    await context.close();
  });
});
