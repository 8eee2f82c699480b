import type { Reading, Telemetry } from '@slopeguard/core';
import { gatewayTopic } from '@slopeguard/core';
import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlCenter } from '../src/server.ts';
import { centerBed } from './center-bed.ts';

const MIN = 60_000;
const YEAR_2099 = Date.UTC(2099, 0, 1);

/** Two hours of heavy rain ending now (120 mm: KMA's 3-h advisory and more), with a quiet tilt sensor. */
function storm(now: number): Reading[] {
  const out: Reading[] = [];
  for (let t = 120; t >= 0; t -= 10) {
    const ts = now - t * MIN;
    out.push({ sensor: 'rain-1', kind: 'rain', ts, values: { mm: 10 } });
    out.push({ sensor: 'tilt-1', kind: 'tilt', ts, values: { x: 0.1, y: -0.2 } });
  }
  return out;
}

/**
 * Issue 9, finding 3, at the control center. The broker in front is Debian's mosquitto, which checks
 * nothing, so the reading from 2099 reaches the control center and only its own check stands between
 * that reading and the site's rules.
 */
describe('a reading from the future at the control center', () => {
  const bed = centerBed('clock-skew', { readings: false });
  let center: ControlCenter;
  const metrics = new Registry();

  beforeAll(async () => {
    center = await bed.start({
      metrics,
      sites: { autoConfigure: true },
    });
  });
  afterAll(async () => {
    await bed.close();
  });

  it('is refused and counted, the clock shows faulty, and honest rain still raises the site', async () => {
    const gw = await mqtt.connectAsync(bed.broker.url, { clientId: 'test-gw' });
    const send = (site: string, message: Telemetry) =>
      gw.publishAsync(gatewayTopic(site, 'gw-1', 'telemetry'), JSON.stringify(message), { qos: 1 });
    const now = Date.now();
    const future: Reading = { sensor: 'rain-1', kind: 'rain', ts: YEAR_2099, values: { mm: 0 } };
    const first: Reading[] = [
      { sensor: 'tilt-1', kind: 'tilt', ts: now - 200 * MIN, values: { x: 0.1, y: -0.2 } },
    ];
    await send('skewed', { seq: 1, readings: [...first, future] });
    await send('control', { seq: 1, readings: first });
    await send('skewed', { seq: 2, readings: storm(now) });
    await send('control', { seq: 2, readings: storm(now) });
    await gw.endAsync();

    const deadline = Date.now() + 10_000;
    while ((center.levels.level('control') ?? 0) < 2 || (center.levels.level('skewed') ?? 0) < 2) {
      if (Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(center.levels.level('control')).toBeGreaterThanOrEqual(2);
    // The site with the bad reading reaches the same level: its engine clock never went to 2099.
    expect(center.levels.level('skewed')).toBe(center.levels.level('control'));
    expect(center.levels.engine('skewed')?.state().clock ?? 0).toBeLessThan(now + MIN);

    const site = center.view.summary('skewed');
    expect(site?.lastReadingTs).toBeLessThan(now + MIN);
    expect(site?.gateways[0]).toMatchObject({ id: 'gw-1', futureReadings: 1, clockFault: true });
    expect(center.view.summary('control')?.gateways[0]).toMatchObject({
      futureReadings: 0,
      clockFault: false,
    });
    const text = await metrics.metrics();
    expect(text).toContain('slopeguard_center_future_readings_total{site="skewed",gateway="gw-1"} 1');
  });
});
