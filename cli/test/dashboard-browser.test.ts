import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WEB_ROOT } from '@slopeguard/control-center';
import pino from 'pino';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoStack, startDemoStack } from '../demo/stack.ts';

/**
 * The dashboard in a real headless Chromium (Debian's, installed by .ci/run), against the real
 * stack: the page must show every site and follow new readings live.
 */
const CHROMIUM = '/usr/bin/chromium';

describe('dashboard in headless Chromium', () => {
  let dir: string;
  let stack: DemoStack;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(join(DEFAULT_WEB_ROOT, 'index.html'))) {
      throw new Error('dashboard not built: run `npm run build:web` (npm test does it first)');
    }
    if (!existsSync(CHROMIUM))
      throw new Error(`${CHROMIUM} missing: apt-get install chromium (.ci/run does)`);
    dir = mkdtempSync(join(tmpdir(), 'sg-dash-'));
    stack = await startDemoStack({
      host: '127.0.0.1',
      mqttPort: 0,
      httpPort: 0,
      dataDir: dir,
      sites: 3,
      intervalMs: 0,
      logger: pino({ level: 'silent' }),
    });
    for (const gw of stack.gateways) await gw.publishOnce();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // Flags for a machine with no outside network, running as root in CI.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows every site and updates a value when a new reading arrives', async () => {
    const page = await browser.newPage();
    await page.goto(stack.dashboardUrl);
    // Signed out: the sign-in form, no data.
    await page.locator('#signin:not([hidden])').waitFor();
    expect(await page.locator('section.site').count()).toBe(0);
    await page.fill('#signin input[name=username]', stack.admin.username);
    await page.fill('#signin input[name=password]', 'wrong-password-here');
    await page.click('#signin button');
    // The wrong password costs a full scrypt check: allow for a loaded machine.
    await expect
      .poll(() => page.locator('#signin-error').textContent(), { timeout: 15_000 })
      .toContain('Wrong user or password');
    await page.fill('#signin input[name=password]', stack.admin.password);
    await page.click('#signin button');
    await page.locator('#conn.up').waitFor();
    await expect.poll(() => page.locator('section.site').count()).toBe(3);
    expect(await page.locator('section.site h2').allTextContents()).toEqual(
      expect.arrayContaining([
        expect.stringContaining('demo-a'),
        expect.stringContaining('demo-b'),
        expect.stringContaining('demo-c'),
      ]),
    );

    const sent = await stack.gateways[0]?.publishOnce();
    const tilt = sent?.readings.find((r) => r.sensor === 'tilt-1');
    expect(tilt).toBeDefined();
    const row = page.locator('section[data-site="demo-a"] tr[data-sensor="tilt-1"]');
    await expect.poll(() => row.textContent()).toContain(`x ${Number(tilt?.values.x).toFixed(4)}`);
    await page.close();
  });
});
