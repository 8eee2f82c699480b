import { existsSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * The real headless Chromium the browser tests drive (Debian's package, through playwright-core),
 * launched one way for every package's tests: the control center's pages here, the dashboard and
 * the backtest report from cli/test.
 */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for a machine with no outside network, running as root in CI: no sandbox (root), no GPU,
 * and none of the background traffic a browser makes on its own (component and safe-browsing
 * updates, sync, QUIC probes, the first-run dialog), which would only wait on a network that is
 * not there.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Launches the browser; a missing Chromium fails the test with the package to install. */
export async function launchChromium(extraArgs: readonly string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} missing: apt-get install chromium (.ci/run does)`);
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs] });
}

/** An account of the dashboard's sign-in form. */
export interface SignInAs {
  username: string;
  password: string;
}

/**
 * Opens the dashboard at `url` and signs in through its form; returns once the live connection is
 * up (`#conn.up`), so the page shows the server's state from then on.
 */
export async function signIn(page: Page, url: string, who: SignInAs): Promise<void> {
  await page.goto(url);
  await page.fill('#signin-user', who.username);
  await page.fill('#signin-password', who.password);
  await page.click('#signin button');
  await page.locator('#conn.up').waitFor();
}

/** A page of a context of its own (no cookies shared with other tests), signed in as `who`. */
export async function signedInPage(
  browser: Browser,
  url: string,
  who: SignInAs,
  viewport = { width: 1024, height: 768 },
): Promise<Page> {
  const page = await (await browser.newContext({ viewport })).newPage();
  await signIn(page, url, who);
  return page;
}

/**
 * Pages served by `handler` over HTTP on a free loopback port (`base`, no trailing slash), and the
 * browser to open them in; `close` ends both, open keep-alive connections too.
 */
export async function chromiumWithPages(
  handler: RequestListener,
): Promise<{ browser: Browser; base: string; close(): Promise<void> }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const stop = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  try {
    const browser = await launchChromium();
    return {
      browser,
      base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      async close() {
        await browser.close();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
