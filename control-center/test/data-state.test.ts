import { gatewayTopic } from '@slopeguard/core';
import { siteConfig } from '@slopeguard/core/engine/index.ts';
import mqtt, { type MqttClient } from 'mqtt';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ControlCenter } from '../src/index.ts';
import { LIVE_EVENT, type LiveBatch } from '../src/realtime-wire.ts';
import type { SiteData } from '../src/site-monitor.ts';
import { centerBed } from './center-bed.ts';
import { type SignedIn, signIn } from './sign-in.ts';

/**
 * Issue 10, acceptance 1: a site whose gateway stops turns `no_data` in the API and on socket.io
 * within 3 sampling intervals + 10 s, keeping its last level, never shown as Normal. The control
 * center runs on a fake clock (its ticker is off; the test ticks it), against Debian's mosquitto.
 */
const IV = 10_000;
const T0 = Date.UTC(2026, 10, 29, 6, 0);

describe('site data state (live, degraded, no_data)', () => {
  const bed = centerBed('data', { readings: false });
  let center: ControlCenter;
  let socket: Socket;
  let viewer: SignedIn;
  let now = T0;
  const pushed: Array<{ site: string; data: SiteData }> = [];

  const gateway = (id: string) =>
    mqtt.connectAsync(bed.broker.url, {
      clientId: id,
      will: {
        topic: gatewayTopic('slope-a', id, 'status'),
        payload: Buffer.from(JSON.stringify({ state: 'offline', ts: T0 })),
        qos: 1,
        retain: true,
      },
    });

  async function send(gw: MqttClient, id: string, seq: number, ts: number) {
    const readings = [
      { sensor: 'tilt-1', kind: 'tilt', ts, values: { x: 0.1 + seq * 1e-5, y: -0.2 - seq * 1e-5 } },
      { sensor: 'rain-1', kind: 'rain', ts, values: { mm: 0 } },
    ];
    await gw.publishAsync(gatewayTopic('slope-a', id, 'telemetry'), JSON.stringify({ seq, readings }), {
      qos: 1,
    });
  }

  const apiData = async () => {
    const res = await viewer.fetch('api/v1/sites');
    const body = (await res.json()) as {
      sites: Array<{ id: string; data: SiteData | null; level: unknown }>;
    };
    return body.sites.find((s) => s.id === 'slope-a');
  };

  beforeAll(async () => {
    const config = siteConfig({
      id: 'slope-a',
      sensors: [
        { id: 'tilt-1', kind: 'tilt', intervalMs: IV },
        { id: 'rain-1', kind: 'rain', intervalMs: IV },
      ],
    });
    center = await bed.start({
      sites: { configs: new Map([['slope-a', config]]) },
      tickMs: 3_600_000,
      now: () => now,
    });
    viewer = await signIn(center, 'viewer');
    socket = io(center.url, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { cookie: viewer.cookie },
    });
    // Data states reach browsers inside the one-a-second batch (realtime-wire.ts).
    socket.on(LIVE_EVENT, (b: LiveBatch) => {
      for (const u of b.sites) if (u.data) pushed.push({ site: u.site, data: u.data });
    });
    await new Promise((resolve, reject) => {
      socket.on('snapshot', resolve);
      socket.on('connect_error', reject);
    });
  });

  afterAll(async () => {
    socket?.close();
    await bed.close();
  });

  it('is live while readings come, and no_data within 3 intervals + 10 s of silence', async () => {
    const gw = await gateway('gw-1');
    await gw.publishAsync(
      gatewayTopic('slope-a', 'gw-1', 'status'),
      JSON.stringify({ state: 'online', ts: T0 }),
      {
        qos: 1,
        retain: true,
      },
    );
    for (let i = 0; i < 6; i++) {
      now = T0 + i * IV;
      await send(gw, 'gw-1', i, now);
    }
    await vi.waitFor(() => expect(center.view.summary('slope-a')?.sensors[0]?.ts).toBe(T0 + 5 * IV));
    center.tick(now);
    expect((await apiData())?.data?.state).toBe('live');
    const last = now;

    // The gateway stops sending (its connection stays up: no will). Just before 3 intervals: still live.
    now = last + 3 * IV - 1_000;
    center.tick(now);
    expect((await apiData())?.data?.state).toBe('live');
    now = last + 3 * IV + 10_000;
    center.tick(now);
    const site = await apiData();
    expect(site?.data?.state).toBe('no_data');
    expect(site?.data?.reasons).toContain('sensor tilt-1 stale');
    // Pushes are throttled per site (one flush a second), so the push may trail the API by up to 1 s.
    await vi.waitFor(
      () => expect(pushed.at(-1)).toMatchObject({ site: 'slope-a', data: { state: 'no_data' } }),
      { timeout: 3000 },
    );

    // Readings again: live again.
    now += IV;
    await send(gw, 'gw-1', 6, now);
    await vi.waitFor(async () => expect((await apiData())?.data?.state).toBe('live'));
    await gw.endAsync();
  });

  it('turns no_data at once when the only gateway drops off (its will says offline)', async () => {
    const gw = await gateway('gw-1');
    now += IV;
    await send(gw, 'gw-1', 7, now);
    await vi.waitFor(async () => expect((await apiData())?.data?.state).toBe('live'));
    // A gateway that loses power: no DISCONNECT, so the broker publishes its will.
    gw.stream.destroy();
    await vi.waitFor(async () => {
      const site = await apiData();
      expect(site?.data?.state).toBe('no_data');
      expect(site?.data?.reasons).toContain('gateway gw-1 offline');
    });
    await vi.waitFor(
      () => expect(pushed.at(-1)).toMatchObject({ site: 'slope-a', data: { state: 'no_data' } }),
      { timeout: 3000 },
    );
    gw.end(true);
  });

  it('exposes the engine health, SWI and forecasts of the site', async () => {
    const res = await viewer.fetch('api/v1/sites/slope-a/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      data: SiteData;
      engine: {
        sensors: Record<string, { status: string; intervalMs: number }>;
        swi: Record<string, number>;
      };
    };
    expect(body.data.state).toBe('no_data');
    expect(body.engine.sensors['tilt-1']).toMatchObject({ intervalMs: IV });
    expect(body.engine.swi).toHaveProperty('rain-1');
    expect((await viewer.fetch('api/v1/sites/nowhere/health')).status).toBe(404);
    expect((await fetch(`${center.url}api/v1/sites/slope-a/health`)).status).toBe(401);
  });
});
