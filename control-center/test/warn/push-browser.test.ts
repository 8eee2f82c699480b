import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpush from 'web-push';
import { browserAsset } from '../../src/warn/browser-assets.ts';
import { renderPublicPage } from '../../src/warn/public-page.ts';
import { chromiumWithPages } from '../browser.ts';
import { UMYEONSAN } from './fixtures.ts';

/**
 * The page's push script and service worker in headless Chromium. Chromium here has no network, so
 * it cannot reach a vendor's push service to subscribe; the test delivers a push message to the
 * registered worker through the DevTools protocol (ServiceWorker.deliverPushMessage), which runs the
 * worker's real `push` handler, and reads the notification it shows back from the page.
 */

describe('public page push script and service worker in Chromium', () => {
  let browser: Browser;
  let close = async (): Promise<void> => undefined;
  let base = '';
  const vapid = webpush.generateVAPIDKeys();

  beforeAll(async () => {
    ({ browser, base, close } = await chromiumWithPages((req, res) => {
      if (req.url === '/p/sw.js' || req.url === '/p/push.js') {
        const a = browserAsset(req.url === '/p/sw.js' ? 'sw.js' : 'push.js');
        res.writeHead(200, a.headers).end(a.body);
        return;
      }
      const r = renderPublicPage({
        area: UMYEONSAN,
        state: { kind: 'level', level: 3, exercise: true, updatedAt: Date.now() },
        links: {
          capFeed: '/cap/areas/umyeonsan/feed.xml',
          emailSubscribe: '/warn/email/subscribe',
          push: {
            script: '/p/push.js',
            serviceWorker: '/p/sw.js',
            action: '/warn/push',
            vapidPublicKey: vapid.publicKey,
          },
        },
      });
      res.writeHead(200, r.headers).end(r.html);
    }));
  });
  afterAll(() => close());

  it('shows the push button, registers the worker, and the worker shows a pushed warning', async () => {
    const ctx = await browser.newContext();
    await ctx.grantPermissions(['notifications'], { origin: base });
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    const registrations: { registrationId: string; scopeURL: string }[] = [];
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: { registrations: typeof registrations }) => {
      registrations.push(...e.registrations);
    });
    await cdp.send('ServiceWorker.enable');
    await page.goto(`${base}/p/umyeonsan`);
    // The CSP the page is served with lets the script and the worker run.
    await page.locator('#push').waitFor({ state: 'visible' });
    expect(await page.locator('#push').innerText()).toBe('이 기기로 알림 받기 · Notify this device');
    const scope = await page.evaluate(async () => (await navigator.serviceWorker.ready).scope);
    expect(scope).toBe(`${base}/p/`);
    const reg = registrations.find((r) => r.scopeURL === `${base}/p/`);
    expect(reg).toBeDefined();

    const payload = {
      title: '[서울특별시 서초구청][훈련] 급경사지 붕괴 우려(경계)',
      body: '노약자는 지금 대피하세요.',
      url: `${base}/p/umyeonsan`,
      tag: 'slopeguard-umyeonsan',
      level: 3,
      exercise: true,
    };
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: base,
      registrationId: reg?.registrationId ?? '',
      data: JSON.stringify(payload),
    });
    const shown = await page.waitForFunction(async () => {
      const list = await (await navigator.serviceWorker.ready).getNotifications();
      return list.length > 0
        ? list.map((n) => ({ title: n.title, body: n.body, tag: n.tag, sticky: n.requireInteraction }))
        : null;
    });
    expect(await shown.jsonValue()).toEqual([
      { title: payload.title, body: payload.body, tag: payload.tag, sticky: true },
    ]);
    await ctx.close();
  });
});
