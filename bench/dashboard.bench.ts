/**
 * The dashboard with many sites (issue 12): first useful paint (every site on the list and the map)
 * with 1,000 sites in headless Chromium, and long tasks while every site sends a reading each second.
 * The whole stack runs here: broker, control center, 1,000 simulated gateways (one MQTT connection
 * each, as in the field) and Chromium share this machine's cores, so the figures are conservative.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WEB_ROOT } from '@slopeguard/control-center';
import pino from 'pino';
import { chromium } from 'playwright-core';
import { startDemoStack } from '../cli/demo/stack.ts';
import { type LoadGateway, startLoadGateway } from './load-gateway.ts';
import type { BenchResult } from './run.ts';

const SITES = Number(process.env.SG_BENCH_SITES ?? 1000);
const UPDATE_SECONDS = 10;
/** Gateways connecting at once: the broker limits authentications in flight per address. */
const BATCH = 4;

export async function run(): Promise<BenchResult[]> {
  if (!existsSync(join(DEFAULT_WEB_ROOT, 'index.html'))) throw new Error('run `npm run build:web` first');
  const dir = mkdtempSync(join(tmpdir(), 'sg-bench-dash-'));
  const stack = await startDemoStack({
    host: '127.0.0.1',
    mqttPort: 0,
    httpPort: 0,
    dataDir: dir,
    sites: 1,
    intervalMs: 0,
    logger: pino({ level: 'silent' }),
  });
  const gateways: LoadGateway[] = [];
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // Headless Chromium 156 builds its omnibox popup WebUI in a hidden renderer that, in a trace,
      // took as much CPU as the dashboard itself; no user-facing browser pays that during a load.
      '--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup',
    ],
  });
  try {
    for (let i = 0; i < SITES; i += BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(BATCH, SITES - i) }, async (_, k) => {
          const site = `bench-${String(i + k).padStart(4, '0')}`;
          const password = stack.registry.addDevice(site, 'gw-1', { replace: true });
          const gw = await startLoadGateway({
            url: stack.mqttUrl,
            site,
            gateway: 'gw-1',
            username: `${site}.gw-1`,
            password,
          });
          await gw.publishOnce();
          return gw;
        }),
      );
      gateways.push(...batch);
    }
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.addInitScript(() => {
      const w = window as unknown as { longTasks: number[] };
      w.longTasks = [];
      new PerformanceObserver((l) => {
        for (const e of l.getEntries()) w.longTasks.push(e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    // Sign in once, then measure a fresh load of the signed-in page.
    await page.goto(stack.dashboardUrl);
    await page.fill('#signin-user', stack.admin.username);
    await page.fill('#signin-password', stack.admin.password);
    await page.click('#signin button');
    await page.locator('#conn.up').waitFor({ timeout: 60_000 });
    const total = SITES + 1;
    // Every site on the list and drawn on the map canvas; returns the page's clock at that frame
    // (reading it afterwards would add a CDP round trip, seconds on a loaded machine).
    const want = (n: number) =>
      document.querySelectorAll('.site-row').length >= n &&
      Number(document.querySelector('.site-canvas')?.getAttribute('data-drawn')) >= n
        ? performance.now()
        : 0;
    await page.waitForFunction(want, total, { timeout: 120_000 });
    // SG_BENCH_TRACE=file.json records a Chromium performance trace of the load (for finding costs).
    const trace = process.env.SG_BENCH_TRACE;
    if (trace) await browser.startTracing(page, { path: trace, screenshots: false });
    // The snapshots the page receives during the load (one: it once received two, from a double
    // CONNECT) and their size.
    const snapshots: number[] = [];
    page.on('websocket', (ws) =>
      ws.on('framereceived', (f) => {
        const text = String(f.payload);
        if (text.startsWith('42["snapshot"')) snapshots.push(text.length);
      }),
    );
    await page.reload();
    const painted = await page.waitForFunction(want, total, { timeout: 120_000, polling: 'raf' });
    if (trace) await browser.stopTracing();
    const paintMs = Number(await painted.jsonValue());
    // When the snapshot arrived: the rest of the first paint is the page's own work.
    const snapshotMs = await page.evaluate(
      () => performance.getEntriesByName('sg:snapshot')[0]?.startTime ?? 0,
    );
    await page.evaluate(() => {
      (window as unknown as { longTasks: number[] }).longTasks = [];
    });
    for (let s = 0; s < UPDATE_SECONDS; s++) {
      const started = Date.now();
      await Promise.all(gateways.map((g) => g.publishOnce()));
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - started))));
    }
    const tasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
    return [
      {
        name: `first useful paint, ${total} sites (list + map)`,
        value: Math.round(paintMs),
        unit: 'ms',
        target: '<= 2000',
        pass: paintMs <= 2000,
      },
      { name: 'of which waiting for the snapshot (server)', value: Math.round(snapshotMs), unit: 'ms' },
      {
        name: 'snapshots received by the page during the load',
        value: snapshots.length,
        unit: `of ${Math.round((snapshots[0] ?? 0) / 1024)} KB each`,
        pass: snapshots.length === 1,
      },
      { name: 'load average (1 min) after the run', value: loadavg()[0] ?? 0, unit: '' },
      {
        name: `long tasks in ${UPDATE_SECONDS} s, all sites updating 1/s`,
        value: tasks.length,
        unit: 'tasks',
      },
      { name: 'longest task while updating', value: Math.round(Math.max(0, ...tasks)), unit: 'ms' },
      {
        name: 'time in long tasks while updating',
        value: Math.round(tasks.reduce((a, b) => a + b, 0)),
        unit: `ms of ${UPDATE_SECONDS * 1000}`,
      },
    ];
  } finally {
    await browser.close();
    // In batches: 1,000 disconnections at once overflowed Aedes' stack (RangeError in client.js).
    for (let i = 0; i < gateways.length; i += 50)
      await Promise.all(gateways.slice(i, i + 50).map((g) => g.stop()));
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
