import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WEB_ROOT } from '@slopeguard/control-center';
import pino from 'pino';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, type SignInAs, signedInPage } from '../../control-center/test/browser.ts';
import { type DemoOptions, type DemoStack, startDemoStack } from '../demo/stack.ts';

/** What a test chooses of the demo stack; the rest is the same for every test (see `demoBed`). */
export type DemoBedOptions = Omit<DemoOptions, 'host' | 'mqttPort' | 'httpPort' | 'dataDir' | 'logger'>;

/**
 * The demo stack as the tests run it: on loopback, on free ports, in a temporary data directory of
 * its own, with no log output. `start` in beforeAll, `close` in afterAll (also after a `start` that
 * failed part-way: it closes what there is).
 */
export function demoBed(prefix: string, options: DemoBedOptions) {
  let dir: string | undefined;
  let stack: DemoStack | undefined;
  return {
    /** The temporary data directory (a test may write its own files there too). */
    get dir(): string {
      if (!dir) throw new Error('demoBed: start() first');
      return dir;
    },
    async start(): Promise<DemoStack> {
      dir = mkdtempSync(join(tmpdir(), `sg-${prefix}-`));
      stack = await startDemoStack({
        host: '127.0.0.1',
        mqttPort: 0,
        httpPort: 0,
        dataDir: dir,
        logger: pino({ level: 'silent' }),
        ...options,
      });
      return stack;
    },
    async close(): Promise<void> {
      await stack?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The demo stack and Debian's headless Chromium, for the dashboard's browser tests: `start` checks
 * that the dashboard is built (a missing build would only show as an empty page), starts the stack
 * and launches the browser; `page` opens a page signed in to the dashboard.
 */
export function dashboardBed(prefix: string, options: DemoBedOptions) {
  const demo = demoBed(prefix, options);
  let stack: DemoStack | undefined;
  let browser: Browser | undefined;
  return {
    get dir(): string {
      return demo.dir;
    },
    /** The browser, for a page that is not signed in or wants a context of its own. */
    get browser(): Browser {
      if (!browser) throw new Error('dashboardBed: start() first');
      return browser;
    },
    async start(): Promise<DemoStack> {
      if (!existsSync(join(DEFAULT_WEB_ROOT, 'index.html')))
        throw new Error('dashboard not built: run `npm run build:web` (npm test does it first)');
      stack = await demo.start();
      browser = await launchChromium();
      return stack;
    },
    /** A page of a context of its own, signed in as `who`, its live connection up. */
    page(who: SignInAs, viewport?: { width: number; height: number }): Promise<Page> {
      if (!stack || !browser) throw new Error('dashboardBed: start() first');
      return signedInPage(browser, stack.dashboardUrl, who, viewport);
    },
    async close(): Promise<void> {
      await browser?.close();
      await demo.close();
    },
  };
}
