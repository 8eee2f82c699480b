import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SCENARIOS, type ScenarioRun } from '@slopeguard/simulators/scenarios/index.ts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../../control-center/test/browser.ts';
import { CSV_HEADER, readingRows } from '../backtest/csv.ts';

/**
 * Acceptance 4 of issue 14: the `--report` HTML opens in a real headless Chromium with no network
 * and no console errors, and shows what it should. With UPDATE_SCREENSHOTS=1 the screenshot in
 * docs/img/ is rewritten from this run.
 */
const ROOT = new URL('../../', import.meta.url).pathname;

function cli(args: string[]) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['bin/slopeguard.mjs', 'backtest', ...args],
      { cwd: ROOT, env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Opens a file with every request other than the file itself refused and recorded. */
async function open(
  browser: Browser,
  file: string,
): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1180, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  const url = pathToFileURL(file).href;
  await page.route('**/*', (route) => {
    if (route.request().url() === url) return route.continue();
    requests.push(route.request().url());
    return route.abort();
  });
  await page.goto(url);
  return { page, errors, requests };
}

describe('backtest --report (headless Chromium)', () => {
  let dir: string;
  let browser: Browser;
  let run: ScenarioRun;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sg-report-'));
    run = SCENARIOS['umyeonsan-2011']?.create({ intervalMs: 10 * 60_000 }) as ScenarioRun;
    const rows = [CSV_HEADER];
    for (const r of run.readings()) rows.push(...readingRows(r));
    writeFileSync(file('storm.csv'), `${rows.join('\n')}\n`);
    const config = structuredClone(run.config);
    config.rules.rain.swi.criticalMm = 180;
    writeFileSync(file('site.json'), JSON.stringify(config));
    writeFileSync(
      file('events.csv'),
      `ts,kind,note\n${run.failureAt},landslide,"first debris flow <Umyeonsan> & co"\n`,
    );
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('draws the level band, rain, soil water index, movement, the event and the forecasts', async () => {
    const r = await cli([
      '--site',
      file('site.json'),
      '--readings',
      file('storm.csv'),
      '--events',
      file('events.csv'),
      '--report',
      file('report.html'),
    ]);
    expect(r.code).toBe(0);
    const { page, errors, requests } = await open(browser, file('report.html'));
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await page.title()).toBe(`Backtest ${run.config.id}`);
    // Every level the run reached has its band; the failure is marked in every panel.
    const levels = await page.$$eval('rect.level', (els) => els.map((e) => e.getAttribute('data-level')));
    const reached = r.stdout
      .trim()
      .split('\n')
      .map((l) => String((JSON.parse(l) as { level: number }).level));
    expect(reached).toContain('4');
    expect(new Set(levels)).toEqual(new Set(['0', ...reached]));
    const gauges = run.sensors.filter((s) => s.kind === 'rain').length;
    const moveKinds = new Set(run.sensors.filter((s) => s.kind !== 'rain').map((s) => s.kind)).size;
    expect(await page.locator('line.event').count()).toBe(1 + gauges + moveKinds);
    expect(await page.locator('polyline.swi').count()).toBe(gauges);
    expect(await page.locator('polyline.move').count()).toBe(
      run.sensors.filter((s) => s.kind !== 'rain').length,
    );
    expect(await page.locator('circle.forecast').count()).toBeGreaterThan(0);
    expect(await page.locator('line.threshold').count()).toBe(gauges); // the critical SWI on each gauge
    // The note is escaped, and the score says the failure was detected.
    await expect(page.locator('table').nth(1).textContent()).resolves.toContain(
      'first debris flow <Umyeonsan> & co',
    );
    await expect(page.locator('body').textContent()).resolves.toMatch(/detected 탐지/);
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(ROOT, 'docs/img'), { recursive: true });
      await page.screenshot({ path: join(ROOT, 'docs/img/backtest-report.png'), fullPage: true });
    }
    await page.close();
  }, 180_000);

  it('after a sweep, draws the trade-off with the Pareto front and the recommendation', async () => {
    const r = await cli([
      '--site',
      file('site.json'),
      '--readings',
      file('storm.csv'),
      '--events',
      file('events.csv'),
      '--alarm-level',
      '4',
      '--sweep',
      'rules.displacement.level4.mmPerHour=5:15:5',
      '--max-false-per-year',
      '1000',
      '--workers',
      '2',
      '--report',
      file('sweep.html'),
    ]);
    expect(r.code).toBe(0);
    const { page, errors, requests } = await open(browser, file('sweep.html'));
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    expect(await page.locator('svg.tradeoff circle').count()).toBe(3);
    expect(await page.locator('svg.tradeoff circle.pareto').count()).toBeGreaterThan(0);
    await expect(page.locator('body').textContent()).resolves.toMatch(
      /Recommended 권고: rules\.displacement\.level4\.mmPerHour=\d+/,
    );
    await page.close();
  }, 180_000);
});
