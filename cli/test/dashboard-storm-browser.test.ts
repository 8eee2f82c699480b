import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoStack } from '../demo/stack.ts';
import { dashboardBed } from './demo-bed.ts';

/**
 * The demo's story in Debian's headless Chromium (issue 12: "see sites change colour as a scenario
 * runs"): the storm site (Umyeonsan 2011 scenario, real gateway agent, broker, recorder, control
 * center) comes up at level 2 and crosses level 3 a few minutes after start; the list badge and the
 * map mark change colour, shape and words as it does, followed through the DOM, not by sleeping.
 * Then its site page during the storm: level, reasons and charts with the last 24 h.
 * With SG_SCREENSHOTS=1 the site page is saved as docs/screenshots/site-storm.png (README).
 */
const SHOTS = process.env.SG_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs/screenshots') : null;
/** Level 3 comes `lead` to `lead` + about 7 min after the story starts (simulators/src/demo-story.ts). */
const STORM_LEAD_MS = 90_000;
const LEVEL3_WITHIN_MS = STORM_LEAD_MS + 8 * 60_000;
/** The history of the three sites is in (the storm site at level 2) well within this, even loaded. */
const HISTORY_WITHIN_MS = 4 * 60_000;
/** Okabe–Ito level colours of web/levels.ts, as RGB. */
const RGB = [
  [0, 158, 115],
  [86, 180, 233],
  [240, 228, 66],
  [230, 159, 0],
  [213, 94, 0],
];

const poll = <T>(f: () => Promise<T> | T) => expect.poll(f, { timeout: 30_000 });

interface Looks {
  level: number;
  colour: string;
  words: string;
  markLevel: number;
  pixel: number[];
}

/**
 * What the list and the map show for a site: level, badge colour and words, the map's pixel. Runs
 * in the page; with `want`, returns false until the list, the map's marks and the pixels drawn on
 * the map canvas all show one level of `want` (`rgb`: the colour of each level), so a wait returns
 * the frame in which all of them did. (The canvas is redrawn a frame after its marks change.)
 */
function seen({ id, want, rgb }: { id: string; want: number[] | null; rgb: number[][] }): Looks | false {
  const badge = document.querySelector<HTMLElement>(`.site-row[data-site="${id}"] .badge`);
  const mark = document.querySelector<HTMLElement>(`.site-fallback a[data-site="${id}"]`);
  const canvas = document.querySelector<HTMLCanvasElement>('.site-canvas');
  const map = document.getElementById('map')?.getBoundingClientRect();
  const level = Number(badge?.dataset.level || Number.NaN);
  const markLevel = Number(mark?.dataset.level || Number.NaN);
  if (want && !(want.includes(level) && want.includes(markLevel))) return false;
  let pixel: number[] = [];
  if (canvas && mark && map) {
    // A point inside the mark's shape and clear of its number: beside it, or below it for the
    // triangle of level 3 (whose sides are close to the number at its centre).
    const [dx, dy] = mark.dataset.level === '3' ? [7, 8] : [8, 0];
    const r = canvas.getBoundingClientRect();
    const k = canvas.width / r.width;
    const x = map.left + Number(mark.dataset.x) + (dx ?? 0) - r.left;
    const y = map.top + Number(mark.dataset.y) + (dy ?? 0) - r.top;
    const d = canvas.getContext('2d')?.getImageData(Math.round(x * k), Math.round(y * k), 1, 1).data;
    if (d) pixel = [d[0] ?? 0, d[1] ?? 0, d[2] ?? 0];
  }
  if (want && pixel.join() !== rgb[level]?.join()) return false;
  return {
    level,
    colour: badge ? getComputedStyle(badge).getPropertyValue('--lv').trim() : '',
    words: badge?.textContent ?? '',
    markLevel,
    pixel,
  };
}

/**
 * Records in the page, every animation frame, each change of the level that the list, the map's
 * mark and the map's pixels agree on (`window.__sgLooks`). A recorder rather than two waits: under
 * load the history can end so close to the crossing that level 2 is on screen only briefly.
 */
async function recordLooks(page: Page, id: string): Promise<void> {
  // The page's CSP forbids eval; DevTools evaluation is not subject to it.
  await page.evaluate(`window.__sgSeen = ${seen.toString()}`);
  await page.evaluate(
    ({ id, rgb }) => {
      const w = window as unknown as { __sgSeen: typeof seen; __sgLooks: Looks[]; __sgRaw: string[] };
      w.__sgLooks = [];
      w.__sgRaw = [];
      const tick = () => {
        const raw = w.__sgSeen({ id, want: null, rgb });
        const key = raw ? `${raw.level}/${raw.markLevel}/${raw.pixel.join(',')}` : 'none';
        if (w.__sgRaw.at(-1)?.split('@')[0] !== key) w.__sgRaw.push(`${key}@${Date.now() % 1e6}`);
        const now = w.__sgSeen({ id, want: [0, 1, 2, 3, 4], rgb });
        if (now && w.__sgLooks.at(-1)?.level !== now.level) w.__sgLooks.push(now);
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    },
    { id, rgb: RGB },
  );
}

describe('the demo storm in headless Chromium', { timeout: 90_000 }, () => {
  // The sites' histories are held until the page is watching: it then sees the storm site come up
  // through its history to level 2 and on to level 3 or more, however long signing in takes.
  let watching: () => void = () => undefined;
  const holdHistory = new Promise<void>((resolve) => {
    watching = resolve;
  });
  const bed = dashboardBed('dash-storm', {
    sites: 3,
    intervalMs: 1000,
    story: true,
    // Level 3 no sooner than 90 s after start: the page is signed in and has drawn the site
    // below it by then, even on a loaded machine (with the default 30 s it sometimes was not).
    stormLeadMs: STORM_LEAD_MS,
    holdHistory,
  });
  let stack: DemoStack;
  let page: Page;

  beforeAll(async () => {
    stack = await bed.start();
    page = await bed.page(stack.admin, { width: 1024, height: 900 });
    await recordLooks(page, 'demo-a');
    watching();
  }, 60_000);

  afterAll(() => {
    watching();
    return bed.close();
  });

  /**
   * The control center's engine of the storm site, for failure messages: its level and counters
   * (whether readings went missing). Twice in CI the site was at level 4 before the page saw a
   * lower level: the story's placement replayed another window than the demo publishes, and for
   * about a quarter of start times the storm crossed inside its history (fixed, and tested in
   * simulators/test/demo-story.test.ts).
   */
  const engineSays = () => {
    const e = stack.center.levels.engine('demo-a');
    return e ? `engine level ${e.level} ${JSON.stringify(e.counters())}` : 'no engine';
  };

  it('turns the storm site from a lower level to 3 or more on the list and the map as the storm rises', {
    timeout: HISTORY_WITHIN_MS + LEVEL3_WITHIN_MS + 60_000,
  }, async () => {
    // The story brings the site up at level 2 once its history is in, then the storm goes on;
    // nothing is done to the page: the live push must carry the change.
    await page.waitForFunction(
      () => (window as unknown as { __sgLooks: Looks[] }).__sgLooks.some((l) => l.level >= 3),
      undefined,
      { timeout: HISTORY_WITHIN_MS + LEVEL3_WITHIN_MS },
    );
    const looks = await page.evaluate(() => (window as unknown as { __sgLooks: Looks[] }).__sgLooks);
    const i = looks.findIndex((l) => l.level >= 3);
    const before = looks[i - 1];
    const after = looks[i] as Looks;
    // What was shown just before: a lower level (2 주의 in the story, unless a loaded machine
    // delivers the history's end and the crossing in one push), in its colour on both.
    const raw = await page.evaluate(() => (window as unknown as { __sgRaw: string[] }).__sgRaw);
    expect(before, `${JSON.stringify(looks)} ${raw.join(' ')} ${engineSays()}`).toBeDefined();
    expect(before?.level).toBeLessThan(3);
    expect(before?.colour).toBe(['#009e73', '#56b4e9', '#f0e442'][before?.level ?? 0]);
    expect(before?.pixel).toEqual(RGB[before?.level ?? 0]);
    const name = after.level === 3 ? '3 경계' : '4 심각';
    expect(after.words).toContain(name);
    expect(after.colour).toBe(after.level === 3 ? '#e69f00' : '#d55e00');
    expect(after.pixel).toEqual(RGB[after.level]);
    expect(after.colour).not.toBe(before?.colour);
    // Worst first: the storm site heads the list sorted by level.
    expect(await page.locator('.site-row').first().getAttribute('data-site')).toBe('demo-a');
    // The calm site did not change colour with it.
    expect(await page.evaluate(seen, { id: 'demo-c', want: null, rgb: RGB })).toMatchObject({
      level: 0,
      markLevel: 0,
      pixel: RGB[0],
    });
  });

  it('shows the storm site page: level 3 or more, the reasons, charts with the last 24 h', async () => {
    await page.click('.site-row[data-site="demo-a"] a');
    const head = page.locator('#site-info h2 .badge');
    await poll(() => head.getAttribute('data-level').then(Number)).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#site-info ul.reasons li').count()).toBeGreaterThan(0);
    const history = () => page.locator('div.charts').first().getAttribute('data-history');
    await poll(history).toMatch(/(^| )rain-1( |$)/);
    await poll(() =>
      page.locator('[data-chart="rain"]').getAttribute('data-points').then(Number),
    ).toBeGreaterThan(100);
    await page.locator('[data-chart="rain"] canvas').first().waitFor();
    if (SHOTS) {
      mkdirSync(SHOTS, { recursive: true });
      // The level, its reasons and the first charts: the top of the page, longer than the screen.
      await page.screenshot({
        path: join(SHOTS, 'site-storm.png'),
        fullPage: true,
        clip: { x: 0, y: 0, width: 1024, height: 1700 },
      });
    }
  });

  it("lists the storm alert's notifications on the site page: the duty officer's notice, sent", async () => {
    // The demo escalates to its SMS gateway stand-in (a webhook receiver): tier 1 at once.
    const notice = page.locator('.alert-history tr[data-recipient="duty-officer"][data-round="g1.r0"]');
    await poll(() => notice.count()).toBeGreaterThan(0);
    await poll(() => notice.first().getAttribute('data-state')).toBe('sent');
    expect(await notice.first().textContent()).toContain('sms-gateway');
    expect(await notice.first().textContent()).toContain('발송됨');
  });

  it('puts the notifications in the event report', async () => {
    await page.click('a.report-link');
    await page.locator('.report-body[data-ready="true"]').waitFor();
    const row = page.locator('.report-notifications tr[data-recipient="duty-officer"]');
    expect(await row.count()).toBeGreaterThan(0);
    expect(await row.first().getAttribute('data-state')).toBe('sent');
  });

  it('shows the escalation in the inbox (tier 1 told, tier 2 due) and who stopped it by acknowledging', async () => {
    await page.click('nav a[href="#/alerts"]');
    const card = page.locator('article.alert[data-site="demo-a"]');
    const esc = card.locator('.escalation');
    await poll(() => esc.getAttribute('data-state')).toBe('running');
    expect(await esc.locator('li[data-tier="1"]').getAttribute('data-told')).toBe('true');
    expect(await esc.locator('li[data-tier="1"]').textContent()).toContain('통보');
    // Tier 2 is told 5 minutes after the start: due until then (the test is usually well within).
    const tier2 = esc.locator('li[data-tier="2"]');
    expect(await tier2.textContent()).toMatch(
      (await tier2.getAttribute('data-told')) === 'true' ? /통보/ : /예정/,
    );
    expect(await esc.locator('.esc-next').textContent()).toContain('다음 재알림');
    if (SHOTS) await page.screenshot({ path: join(SHOTS, 'alerts-storm.png') });
    await card.locator('.act-ack input').fill('현장 출동 · crew on the way');
    await card.locator('.act-ack button').click();
    await poll(() => esc.getAttribute('data-state')).toBe('stopped');
    expect(await esc.locator('.esc-stopped').getAttribute('data-reason')).toBe('acknowledged');
    expect(await esc.locator('.esc-stopped').textContent()).toContain('admin');
  });
});
