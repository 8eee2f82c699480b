import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AreaState, type PageInput, renderPublicPage } from '../../src/warn/public-page.ts';
import { chromiumWithPages } from '../browser.ts';
import { JANGSAN, LONGEST, OCHEON, UMYEONSAN } from './fixtures.ts';

const AT = Date.UTC(2026, 6, 15, 18, 40);
const LINKS = { capFeed: '/cap/areas/umyeonsan/feed.xml', emailSubscribe: '/warn/email/subscribe' };

const page = (state: AreaState, area = UMYEONSAN): PageInput => ({ area, state, links: LINKS });
const level = (l: 0 | 1 | 2 | 3 | 4, exercise = false): AreaState => ({
  kind: 'level',
  level: l,
  exercise,
  updatedAt: AT,
});
const NO_DATA: AreaState = { kind: 'no_data', updatedAt: AT, lastDataAt: AT - 3 * 3600_000 };

describe('public page of an area (pure)', () => {
  it('stays far under 50 KB for every state and area, and sets its cache policy', () => {
    for (const area of [UMYEONSAN, JANGSAN, OCHEON, LONGEST]) {
      for (const state of [level(0), level(1), level(2), level(3), level(4, true), NO_DATA]) {
        const r = renderPublicPage(page(state, area));
        expect(Buffer.byteLength(r.html)).toBeLessThan(50_000);
        expect(gzipSync(r.html).length).toBeLessThan(10_000);
        expect(r.headers['cache-control']).toBe(
          'public, max-age=15, stale-while-revalidate=45, stale-if-error=86400',
        );
        expect(r.headers.etag).toMatch(/^"[\w-]{22}"$/);
      }
    }
  });

  it('shows the level in words, colour and shape, and what to do', () => {
    const r = renderPublicPage(page(level(4))).html;
    expect(r).toContain('data-level="4"');
    expect(r).toContain('4 심각 <span lang="en">Serious</span>');
    expect(r).toContain('#c8102e');
    expect(r).toContain('<polygon points="16,3 32,3 45,16');
    expect(r).toContain('<b>지금 바로 대피하세요.</b>');
    expect(r).toContain('<b lang="en">Leave now.</b>');
    expect(r).toContain('서초구 우면동 주민센터 3층 대강당');
    expect(r).toContain('2026년 7월 16일 03:40');
    expect(r).toContain('href="/cap/areas/umyeonsan/feed.xml"');
    expect(r).toContain('action="/warn/email/subscribe"');
    expect(r).not.toContain('[훈련]');
    // Level 1 is for officials: no instruction to residents.
    const attention = renderPublicPage(page(level(1))).html;
    expect(attention).toContain('주민이 할 일은 아직 없습니다');
    expect(attention).not.toContain('할 일 <span');
  });

  it('shows no data as its own state, never as normal', () => {
    const normal = renderPublicPage(page(level(0))).html;
    const none = renderPublicPage(page(NO_DATA)).html;
    expect(none).toContain('data-level="no_data"');
    expect(none).toContain('측정 중단 <span lang="en">No data</span>');
    expect(none).toContain('정상이라는 뜻이 아닙니다');
    expect(none).not.toContain('#1b7f3b');
    expect(none).not.toMatch(/>\s*0 정상/);
    expect(none).toContain('마지막 측정');
    expect(normal).toContain('0 정상 <span lang="en">Normal</span>');
    expect(normal).toContain('#1b7f3b');
  });

  it('marks a drill and escapes what the configuration says', () => {
    const drill = renderPublicPage(page(level(3, true))).html;
    expect(drill).toContain('[훈련] 훈련 중입니다');
    expect(drill).toContain('<title>[훈련] 경계 Warning');
    const odd = { ...JANGSAN, name: { ko: '<script>alert(1)</script>', en: '"><img src=x>' } };
    const r = renderPublicPage(page(level(2), odd)).html;
    expect(r).not.toContain('<script>alert');
    expect(r).not.toContain('<img');
    expect(r).toContain('&lt;script&gt;');
  });
});

describe('public page in a real browser without JavaScript', () => {
  let browser: Browser;
  let close = async (): Promise<void> => undefined;
  let base = '';
  beforeAll(async () => {
    ({ browser, base, close } = await chromiumWithPages((req, res) => {
      const state = req.url === '/p/none' ? NO_DATA : req.url === '/p/normal' ? level(0) : level(4, true);
      const r = renderPublicPage(page(state));
      res.writeHead(200, r.headers).end(r.html);
    }));
  });
  afterAll(() => close());

  it('shows the level, the instructions and no data distinct from normal', async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
    const p = await ctx.newPage();
    const colour = async (path: string) => {
      await p.goto(`${base}${path}`);
      return p.locator('section.level').evaluate((el) => getComputedStyle(el).backgroundColor);
    };
    const serious = await colour('/p/serious');
    expect(await p.locator('section.level strong').innerText()).toContain('4 심각');
    expect(await p.locator('body').innerText()).toContain('지금 바로 대피하세요.');
    expect(await p.locator('.drill').isVisible()).toBe(true);
    const none = await colour('/p/none');
    expect(await p.locator('section.level strong').innerText()).toContain('측정 중단');
    const normal = await colour('/p/normal');
    expect(await p.locator('section.level strong').innerText()).toContain('0 정상');
    expect(new Set([serious, none, normal]).size).toBe(3);
    expect(normal).toBe('rgb(27, 127, 59)');
    expect(none).toBe('rgb(95, 99, 104)');
    // The form posts without JavaScript.
    expect(await p.locator('form[method=post] input[type=email]').count()).toBe(1);
    await ctx.close();
  });
});
