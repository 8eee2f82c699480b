import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

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
