import type { Store } from '@slopeguard/broker';
import { gatewayTopic } from '@slopeguard/core';
import { siteConfig } from '@slopeguard/core/engine/index.ts';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ControlCenter } from '../src/index.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 10: the site health detail shows what the engine knows of rain per gauge (1/3/12-h rain,
 * the current event, the soil water index) and the last 24 h from the readings store. Readings go
 * through Debian's mosquitto to the engine, and into a real SQLite store.
 */
const HOUR = 3_600_000;
const T0 = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;

describe('rain totals in the site health detail', () => {
  const bed = centerBed('rain');
  let store: Store;
  let center: ControlCenter;
  let viewer: SignedIn;
  let now = T0;

  beforeAll(async () => {
    store = await bed.open();
    center = await bed.start({
      sites: {
        configs: new Map([
          [
            'slope-r',
            siteConfig({ id: 'slope-r', sensors: [{ id: 'rain-1', kind: 'rain', intervalMs: 600_000 }] }),
          ],
        ]),
      },
      tickMs: 3_600_000,
      now: () => now,
    });
    viewer = await signIn(center, 'viewer');
  });
  afterAll(() => bed.close());

  it('gives 1/3/12/24-h rain, the event and the soil water index per gauge', async () => {
    // 2 mm every 10 min for 2 h (26 mm) to the engine and the store; 10 mm 20 h earlier only in the store.
    const readings = Array.from({ length: 13 }, (_, k) => ({
      sensor: 'rain-1',
      kind: 'rain' as const,
      ts: T0 + k * 600_000,
      values: { mm: 2 },
    }));
    await store.write([
      ...readings.map((r) => ({ ...r, site: 'slope-r', gateway: 'gw-1' })),
      {
        sensor: 'rain-1',
        kind: 'rain',
        ts: T0 - 18 * HOUR,
        values: { mm: 10 },
        site: 'slope-r',
        gateway: 'gw-1',
      },
    ]);
    now = T0 + 2 * HOUR;
    const gw = await mqtt.connectAsync(bed.broker.url, { clientId: 'gw-1' });
    await gw.publishAsync(
      gatewayTopic('slope-r', 'gw-1', 'telemetry'),
      JSON.stringify({ seq: 1, readings }),
      {
        qos: 1,
      },
    );
    await gw.endAsync();
    await vi.waitFor(() => expect(center.levels.engine('slope-r')?.rain()['rain-1']?.mm3h).toBe(26), {
      timeout: 5000,
    });
    const res = await viewer.fetch('api/v1/sites/slope-r/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      engine: { rain: Record<string, unknown>; swi: Record<string, number> };
    };
    expect(body.engine.rain['rain-1']).toEqual({
      mm1h: 12,
      mm3h: 26,
      mm12h: 26,
      mm24h: 36,
      event: { start: T0, lastWet: T0 + 2 * HOUR, mm: 26 },
      swiMm: Number((body.engine.swi['rain-1'] ?? 0).toPrecision(4)),
      level: 0,
      asOf: T0 + 2 * HOUR,
    });
  });

  it('still answers with mm24h null when the store is gone', async () => {
    await store.close();
    const body = (await (await viewer.fetch('api/v1/sites/slope-r/health')).json()) as {
      engine: { rain: Record<string, { mm3h: number; mm24h: number | null }> };
    };
    expect(body.engine.rain['rain-1']).toMatchObject({ mm3h: 26, mm24h: null });
  });
});
