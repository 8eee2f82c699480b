import { gatewayTopic, type Reading } from '@slopeguard/core';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DemoStack } from '../demo/stack.ts';
import { dashboardBed } from './demo-bed.ts';

/**
 * Issue 12, "release level 4": a site is driven to level 4 by two extensometers that moved 15 mm/h
 * and then stopped (readings over MQTT through the demo's broker, from a second gateway account of
 * the site), so level 4 is held with nothing triggering it any more. In Debian's headless Chromium a
 * viewer sees the level-4 alert with no release control; an operator releases it from the alert
 * inbox with a reason, and the alert's history shows the release, the reason and who did it.
 */
const MIN = 60_000;
const HOUR = 60 * MIN;
const SITE = 'demo-a';

const poll = <T>(f: () => Promise<T> | T) => expect.poll(f, { timeout: 15_000 });

/** Two extensometers, one reading a minute over the last 3 h: still, 15 mm/h for 1 h, still again. */
function stormThenStill(now: number): Reading[] {
  const out: Reading[] = [];
  const t0 = Math.floor(now / MIN) * MIN - 3 * HOUR;
  for (let t = t0; t <= now; t += MIN) {
    const h = (t - t0) / HOUR;
    const moved = 15 * Math.max(0, Math.min(h, 2) - 1);
    for (const sensor of ['e1', 'e2'])
      out.push({ sensor, kind: 'displacement', ts: t, values: { mm: moved + (sensor === 'e2' ? 0.2 : 0) } });
  }
  return out;
}

describe('release of level 4 from the alert inbox, in headless Chromium', { timeout: 90_000 }, () => {
  const bed = dashboardBed('dash-release', { sites: 1, intervalMs: 0 });
  let stack: DemoStack;
  let gw: MqttClient;
  const operator = { username: 'duty-op', password: 'operator-password-1' };
  const viewer = { username: 'watcher', password: 'viewer-password-1' };

  beforeAll(async () => {
    stack = await bed.start();
    await stack.center.users.add(operator.username, 'operator', operator.password);
    await stack.center.users.add(viewer.username, 'viewer', viewer.password);
    // A second gateway of the site, whose readings are the extensometers' (the demo gateway
    // agent of the site publishes nothing unless told, and stays online).
    const username = `${SITE}.gw-2`;
    const password = stack.registry.addDevice(SITE, 'gw-2');
    gw = await mqtt.connectAsync(stack.mqttUrl, { clientId: username, username, password });
    await gw.publishAsync(
      gatewayTopic(SITE, 'gw-2', 'telemetry'),
      JSON.stringify({ seq: 1, readings: stormThenStill(Date.now() - 1000) }),
      { qos: 1 },
    );
    await vi.waitFor(() => expect(stack.center.levels.level(SITE)).toBe(4), { timeout: 30_000 });
  });

  afterAll(async () => {
    await gw?.endAsync();
    await bed.close();
  });

  it('shows a viewer the level-4 alert without the release control; the server refuses a viewer anyway', async () => {
    const page = await bed.page(viewer);
    await page.click('nav a[href="#/alerts"]');
    const card = page.locator(`article.alert[data-site="${SITE}"]`);
    await poll(() => card.locator('h3').textContent()).toContain('심각');
    expect(await card.locator('.act-release').count()).toBe(0);
    expect(await card.locator('.act-ack, .act-manual').count()).toBe(0);
    // The control is hidden, and the API says no to the viewer's session all the same.
    const status = await page.evaluate(async (site) => {
      const s = await (await fetch('/api/v1/session')).json();
      const res = await fetch(`/api/v1/sites/${site}/release`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf },
        body: JSON.stringify({ reason: 'viewer tries' }),
      });
      return res.status;
    }, SITE);
    expect(status).toBe(403);
    expect(stack.center.levels.level(SITE)).toBe(4);
    await page.context().close();
  });

  it('lets an operator release level 4 with a reason; the history says who and why', async () => {
    const page = await bed.page(operator);
    await page.click('nav a[href="#/alerts"]');
    const card = page.locator(`article.alert[data-site="${SITE}"]`);
    await poll(() => card.locator('h3').textContent()).toContain('심각');
    const form = card.locator('.act-release');
    // Keyboard: the reason field and the button are reached and used without a mouse.
    await form.locator('input').focus();
    await page.keyboard.type('현장 점검 완료 · inspected, movement stopped');
    await page.keyboard.press('Enter');
    await poll(() => card.locator('h3').textContent()).toContain('경계');
    expect(await card.locator('.act-release').count()).toBe(0);
    await card.locator('details.hist summary').click();
    const release = card.locator('ol.history li', { hasText: 'release' });
    expect(await release.textContent()).toContain(operator.username);
    expect(await release.textContent()).toContain('현장 점검 완료');
    expect(stack.center.levels.level(SITE)).toBe(3);
    const audited = [...stack.center.audit.iterate()].filter((r) => r.action === 'site.release');
    expect(audited.map((r) => [r.actor, r.outcome])).toEqual([
      [viewer.username, 'refused'],
      [operator.username, 'ok'],
    ]);
    await page.context().close();
  });
});
